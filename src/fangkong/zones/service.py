"""The one question other domains ask of zones: is this person, address, venue or
workplace in a zone on a day — at what level, in which zone, since when, by which rule.

Health codes, arrivals, supplies and the hotline call these functions (never the tables).
Each loads the zones in force on the day once (``records.entries_on``) into a
``ZoneIndex`` and answers every key from it, so a bulk call costs one query for the zones
plus one per batch of keys; a caller with many days or a whole city may hold a
``DayZones`` itself. A key in no zone is absent from the result.

The reopening queries (``venue_may_open``, ``enterprise_may_resume``) are in
``zones/reopening.py`` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from fangkong.people import venues as people_venues
from fangkong.zones import places
from fangkong.zones.day import DayZones, day_zones
from fangkong.zones.index import ZoneStatus
from fangkong.zones.reopening import ReopeningVerdict, enterprise_may_resume, venue_may_open

__all__ = [
    "DayZones",
    "ReopeningVerdict",
    "ZoneStatus",
    "day_zones",
    "enterprise_may_resume",
    "status_of_address",
    "status_of_person",
    "status_of_persons",
    "status_of_venue",
    "status_of_venues",
    "status_of_workplace",
    "status_of_workplaces",
    "venue_may_open",
]


def status_of_persons(
    session: Session, person_ids: Iterable[int], day: date
) -> dict[int, ZoneStatus]:
    """Person id → the zone of their address on ``day``, for those inside one."""
    zones = day_zones(session, day=day)
    if not len(zones.units):
        return {}
    return zones.units.of_addresses(places.addresses(session, person_ids))


def status_of_person(session: Session, person_id: int, day: date) -> ZoneStatus | None:
    return status_of_persons(session, [person_id], day).get(person_id)


def status_of_address(
    session: Session,
    *,
    day: date,
    district_code: str | None,
    street_code: str | None = None,
    community_id: int | None = None,
    compound_id: int | None = None,
    building_id: int | None = None,
) -> ZoneStatus | None:
    """The zone of an address given by its registry units."""
    return day_zones(session, day=day).units.of_address(
        district_code=district_code,
        street_code=street_code,
        community_id=community_id,
        compound_id=compound_id,
        building_id=building_id,
    )


def status_of_venues(
    session: Session, venue_codes: Iterable[str], day: date
) -> dict[str, ZoneStatus]:
    """Venue code → its zone on ``day``: a venue zone, its street or district, or a zone
    polygon holding its point."""
    zones = day_zones(session, day=day)
    out: dict[str, ZoneStatus] = {}
    for code, venue in people_venues.venues_by_code(session, venue_codes).items():
        found = zones.of_venue(
            venue_code=code,
            district_code=venue.district_code,
            street_code=venue.street_code,
            lon=venue.lon,
            lat=venue.lat,
        )
        if found is not None:
            out[code] = found
    return out


def status_of_venue(session: Session, venue_code: str, day: date) -> ZoneStatus | None:
    return status_of_venues(session, [venue_code], day).get(venue_code)


def status_of_workplaces(
    session: Session, workplace_nos: Iterable[str], day: date
) -> dict[str, ZoneStatus]:
    """Workplace number → its zone on ``day`` (a workplace zone, its street or district)."""
    zones = day_zones(session, day=day)
    out: dict[str, ZoneStatus] = {}
    for no, (district, street) in places.workplaces_by_no(session, workplace_nos).items():
        found = zones.of_workplace(workplace_no=no, district_code=district, street_code=street)
        if found is not None:
            out[no] = found
    return out


def status_of_workplace(session: Session, workplace_no: str, day: date) -> ZoneStatus | None:
    return status_of_workplaces(session, [workplace_no], day).get(workplace_no)
