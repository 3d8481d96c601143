"""The city's zones in force as machine-readable lists, for other cities' arrivals
management: rows in the national risk-area list's shape (province, city, county, area
name, level, communities) as JSON and CSV, and a GeoJSON FeatureCollection (RFC 7946,
WGS-84; a zone without a drawn boundary has a null geometry, as the RFC allows).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from fangkong.regions import service as regions
from fangkong.zones import places, records
from fangkong.zones.rules import SEVERITY, label

# The provinces of the cities the registry knows (GB/T 2260 codes).
PROVINCES = {"37": "山东省"}
CSV_COLUMNS = (
    "province",
    "city",
    "county",
    "area_name",
    "level",
    "level_label",
    "communities",
    "zone_code",
    "since",
)


@dataclass(frozen=True)
class FeedRow:
    province: str
    city: str
    county: str
    area_name: str
    level: str
    level_label: str
    communities: list[str]
    zone_code: str
    since: date


@dataclass(frozen=True)
class Feed:
    city_code: str
    day: date
    rows: list[FeedRow]
    geometries: dict[str, str | None]  # zone code → GeoJSON geometry text


def feed(session: Session, *, city_code: str, day: date) -> Feed:
    """The zones of the city in force on ``day``, severest first, then by county and name."""
    city = regions.city(city_code)
    province = PROVINCES.get(city.code[:2], "")
    rows: list[FeedRow] = []
    geometries: dict[str, str | None] = {}
    for zone, period in records.in_force_on(session, day=day, city_code=city.code):
        units = [(u.kind, u.ref) for u in zone.units]
        rows.append(
            FeedRow(
                province=province,
                city=city.name,
                county=regions.district_name(zone.district_code) or zone.district_code,
                area_name=zone.name,
                level=period.level,
                level_label=label(period.level),
                communities=places.community_names(session, units),
                zone_code=zone.code,
                since=period.starts_on,
            )
        )
        geometries[zone.code] = zone.geometry
    rows.sort(key=lambda r: (-SEVERITY.get(r.level, 0), r.county, r.area_name, r.zone_code))
    return Feed(city.code, day, rows, geometries)


def _plain(row: FeedRow) -> dict[str, Any]:
    out = asdict(row)
    out["since"] = row.since.isoformat()
    return out


def as_json(found: Feed) -> dict[str, Any]:
    return {
        "city_code": found.city_code,
        "day": found.day.isoformat(),
        "areas": [_plain(r) for r in found.rows],
    }


def as_csv(found: Feed) -> str:
    """UTF-8 CSV with a header; communities joined by 、."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in found.rows:
        plain = _plain(r)
        plain["communities"] = "、".join(r.communities)
        writer.writerow([plain[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def as_geojson(found: Feed) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.zone_code,
                "geometry": json.loads(g) if (g := found.geometries.get(r.zone_code)) else None,
                "properties": _plain(r),
            }
            for r in found.rows
        ],
    }
