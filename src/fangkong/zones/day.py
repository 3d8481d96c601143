"""The zones in force on one day, indexed for look-ups: by registry unit
(``index.ZoneIndex``) and by polygon (``geo.PolygonIndex``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from fangkong.zones import records
from fangkong.zones.geo import PolygonIndex
from fangkong.zones.index import ZoneIndex, ZoneStatus, severer


@dataclass(frozen=True)
class DayZones:
    """The zones in force on one day, indexed by unit and by polygon."""

    day: date
    units: ZoneIndex
    polygons: PolygonIndex

    def of_venue(
        self,
        *,
        venue_code: str,
        district_code: str | None,
        street_code: str | None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> ZoneStatus | None:
        found = self.units.of_unit("venue", venue_code)
        found = severer(
            found, self.units.of_address(district_code=district_code, street_code=street_code)
        )
        if lon is not None and lat is not None:
            found = severer(found, self.polygons.of_point(lon, lat))
        return found

    def of_workplace(
        self, *, workplace_no: str, district_code: str | None, street_code: str | None
    ) -> ZoneStatus | None:
        found = self.units.of_unit("workplace", workplace_no)
        return severer(
            found, self.units.of_address(district_code=district_code, street_code=street_code)
        )


def day_zones(session: Session, *, day: date, city_code: str | None = None) -> DayZones:
    """The zones in force on ``day`` (of one city, or all), ready for look-ups."""
    entries = records.entries_on(session, day=day, city_code=city_code)
    shapes = [(e.status, e.geometry) for e in entries if e.geometry]
    return DayZones(day, ZoneIndex(entries), PolygonIndex(shapes))
