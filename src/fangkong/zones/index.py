"""The zone status of a place on one day, pure and fast: the zones in force that day are
loaded once (a city has hundreds, not millions) into one dictionary per kind of unit, each
holding the severest zone of that unit; a person's status is then at most five dictionary
look-ups (building, compound, community, street, district), a venue's also its point
against the zones' polygons (``geo.PolygonIndex``).

``ZoneStatus`` is what other domains receive (health codes, arrivals, supplies, hotline).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from fangkong.zones.rules import SEVERITY


@dataclass(frozen=True)
class ZoneStatus:
    """A place's zone on a day: the level, the zone, the day the level took effect there,
    and the rule that drew or set it."""

    level: str
    zone_code: str
    since: date
    rule: str


@dataclass(frozen=True)
class ZoneEntry:
    """One zone in force on the day: its status and the units of its extent."""

    status: ZoneStatus
    units: tuple[tuple[str, str], ...]  # (kind, ref)
    geometry: str | None = None


def severer(a: ZoneStatus | None, b: ZoneStatus | None) -> ZoneStatus | None:
    """The severer of two statuses; on a tie the earlier (then the smaller code), so that
    the answer does not depend on the order zones were loaded."""
    if a is None:
        return b
    if b is None:
        return a
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return a if ra > rb else b
    return a if a.zone_code <= b.zone_code else b


def _rank(s: ZoneStatus) -> tuple[int, int]:
    return SEVERITY.get(s.level, 0), -s.since.toordinal()


class ZoneIndex:
    """Unit → severest zone status, for the zones in force on one day."""

    KINDS = ("building", "compound", "community", "street", "district", "venue", "workplace")

    def __init__(self, entries: Iterable[ZoneEntry]) -> None:
        self.by_kind: dict[str, dict[str, ZoneStatus]] = {k: {} for k in self.KINDS}
        self.entries: list[ZoneEntry] = []
        for entry in entries:
            self.entries.append(entry)
            for kind, ref in entry.units:
                table = self.by_kind.setdefault(kind, {})
                best = severer(table.get(ref), entry.status)
                assert best is not None
                table[ref] = best

    def __len__(self) -> int:
        return len(self.entries)

    def of_address(
        self,
        *,
        district_code: str | None,
        street_code: str | None = None,
        community_id: int | None = None,
        compound_id: int | None = None,
        building_id: int | None = None,
    ) -> ZoneStatus | None:
        """The severest zone holding an address at any of its levels."""
        k = self.by_kind
        found: ZoneStatus | None = None
        if building_id is not None:
            found = k["building"].get(str(building_id))
        if compound_id is not None:
            found = severer(found, k["compound"].get(str(compound_id)))
        if community_id is not None:
            found = severer(found, k["community"].get(str(community_id)))
        if street_code is not None:
            found = severer(found, k["street"].get(street_code))
        if district_code is not None:
            found = severer(found, k["district"].get(district_code))
        return found

    def of_addresses(
        self,
        rows: Iterable[tuple[int, str | None, str | None, int | None, int | None, int | None]],
    ) -> dict[int, ZoneStatus]:
        """``(key, district, street, community, compound, building)`` rows → status, for
        the keys inside a zone (the others are left out)."""
        k = self.by_kind
        buildings, compounds, communities = k["building"], k["compound"], k["community"]
        streets, districts = k["street"], k["district"]
        out: dict[int, ZoneStatus] = {}
        for key, district, street, community, compound, building in rows:
            found = None
            if building is not None and buildings:
                found = buildings.get(str(building))
            if compound is not None and compounds:
                found = severer(found, compounds.get(str(compound)))
            if community is not None and communities:
                found = severer(found, communities.get(str(community)))
            if street is not None and streets:
                found = severer(found, streets.get(street))
            if district is not None:
                found = severer(found, districts.get(district))
            if found is not None:
                out[key] = found
        return out

    def of_unit(self, kind: str, ref: str) -> ZoneStatus | None:
        return self.by_kind.get(kind, {}).get(ref)
