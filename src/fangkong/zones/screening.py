"""Zones as testing areas: a round may name zones among its areas, and a round applied
records the screening of each zone it targets (what lifting waits for).

A round samples by registry area (district, street, community), so a zone is screened
through the smallest areas holding it — a sealed compound or building through its
community, a street or district zone as itself; the zone's screening counts only its own
residents. A zone drawn over venues or workplaces has no residents to screen by area and is
refused. Where a positive of such a round lives in a targeted zone, it was found by that
zone's screening (封控区筛查 / 管控区筛查).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import InvalidInput
from fangkong.zones import places, records
from fangkong.zones.index import ZoneEntry, ZoneIndex, ZoneStatus
from fangkong.zones.models import RiskZone, ZoneRound, ZoneScreening
from fangkong.zones.rules import IN_FORCE, SEVERITY

ZONE_CODE = re.compile(r"^Z\d{4}-\d{8}-\d{3}$")
# the states of a round's outcome in which a person was sampled
SAMPLED_STATES = frozenset({"positive", "pool_positive", "retest", "cleared", "pending"})


class ZoneNotScreenable(InvalidInput):
    code = "zone_not_screenable"


def is_zone_code(value: str) -> bool:
    return bool(ZONE_CODE.match(value.strip()))


@dataclass(frozen=True)
class RoundAreas:
    """A round's areas as given, with every zone code replaced by the registry areas
    that hold it; ``zones`` the zone codes named."""

    areas: list[str]
    zones: list[str]


def expand_areas(session: Session, given: Sequence[str], *, scope: Jurisdiction) -> RoundAreas:
    """Replace the zone codes among ``given`` by the areas a round samples them through."""
    areas: list[str] = []
    zones: list[str] = []
    for value in given:
        text = value.strip()
        if not is_zone_code(text):
            areas.append(value)
            continue
        zone = records.get_zone(session, code=text, scope=scope)
        if zone.status not in IN_FORCE:
            raise ZoneNotScreenable(
                f"zone {zone.code} is not in force: only a zone in force is screened",
                zone=zone.code,
            )
        zones.append(zone.code)
        for unit in zone.units:
            area = _area_of(session, unit.kind, unit.ref)
            if area is None:
                raise ZoneNotScreenable(
                    f"zone {zone.code} is drawn over a {unit.kind}: it has no residents to "
                    "screen by area (screen its visitors or workers by list)",
                    zone=zone.code,
                )
            areas.append(area)
    return RoundAreas(list(dict.fromkeys(areas)), list(dict.fromkeys(zones)))


def _area_of(session: Session, kind: str, ref: str) -> str | None:
    if kind in ("district", "street"):
        return ref
    community = places.community_of(session, kind, ref)
    return f"c{community}" if community is not None else None


def target_round(
    session: Session, *, round_code: str, zone_codes: Iterable[str], now: datetime, by: str
) -> list[ZoneRound]:
    """Record that the round targets these zones (once each)."""
    made: list[ZoneRound] = []
    found = records.zones_by_code(session, list(zone_codes))
    for zone in found.values():
        exists = session.scalar(
            select(ZoneRound).where(
                ZoneRound.zone_id == zone.id, ZoneRound.round_code == round_code
            )
        )
        if exists is None:
            exists = ZoneRound(
                zone_id=zone.id, round_code=round_code, created_by=by, created_at=now
            )
            session.add(exists)
        made.append(exists)
    session.flush()
    return made


def _targeted(session: Session, round_code: str) -> list[RiskZone]:
    return list(
        session.scalars(
            select(RiskZone)
            .join(ZoneRound, ZoneRound.zone_id == RiskZone.id)
            .where(ZoneRound.round_code == round_code)
            .options(selectinload(RiskZone.units))
            .order_by(RiskZone.code)
        )
    )


def round_zone_codes(session: Session, round_code: str) -> list[str]:
    """The zones a round targets, by code."""
    return [z.code for z in _targeted(session, round_code)]


@dataclass(frozen=True)
class RoundZones:
    """The zones a round targets, indexed for "does this person live in one of them"."""

    zones: list[RiskZone]
    index: ZoneIndex

    def of_address(
        self, address: tuple[int, str | None, str | None, int | None, int | None, int | None]
    ) -> ZoneStatus | None:
        return self.index.of_addresses([address]).get(address[0])


def round_zones(session: Session, round_code: str) -> RoundZones:
    zones = [z for z in _targeted(session, round_code) if z.status in IN_FORCE]
    entries = [
        ZoneEntry(
            ZoneStatus(z.level, z.code, z.proposed_on, z.rule),
            tuple((u.kind, u.ref) for u in z.units),
        )
        for z in zones
    ]
    return RoundZones(zones, ZoneIndex(entries))


def found_by_zone(session: Session, *, round_code: str, person_id: int) -> str | None:
    """The level of the severest zone targeted by the round that holds the person's home
    (``None`` when none does, or only the county-wide level): the found-via phrase's key."""
    targeted = round_zones(session, round_code)
    if not targeted.zones:
        return None
    address = next(iter(places.addresses(session, [person_id])), None)
    if address is None:
        return None
    found = targeted.of_address(address)
    if found is None or SEVERITY.get(found.level, 0) < 2:
        return None
    return found.level


def record_round(
    session: Session,
    *,
    round_code: str,
    day: date,
    states: Mapping[str, str],
    now: datetime,
    by: str,
) -> list[ZoneScreening]:
    """The screening of each zone the round targets from the round's outcome (person
    number → state): its residents sampled, and how many of them were positive. Applying
    the round again updates the figures."""
    recorded: list[ZoneScreening] = []
    for zone in round_zones(session, round_code).zones:
        inside = places.resident_nos(session, [(u.kind, u.ref) for u in zone.units])
        sampled = sum(1 for no in inside if states.get(no) in SAMPLED_STATES)
        positives = sum(1 for no in inside if states.get(no) == "positive")
        row = session.scalar(
            select(ZoneScreening).where(
                ZoneScreening.zone_id == zone.id,
                ZoneScreening.day == day,
                ZoneScreening.round_code == round_code,
            )
        )
        if row is None:
            row = ZoneScreening(zone_id=zone.id, day=day, round_code=round_code)
            session.add(row)
        row.sampled, row.positives = sampled, positives
        row.recorded_by, row.recorded_at = by, now
        recorded.append(row)
    session.flush()
    return recorded


def round_zone_codes_of(session: Session, zone_id: int) -> list[str]:
    """The testing rounds that target a zone, by code."""
    return list(
        session.scalars(
            select(ZoneRound.round_code)
            .where(ZoneRound.zone_id == zone_id)
            .order_by(ZoneRound.round_code)
        )
    )
