"""The region registry: reference data read from the vendored files, held in memory.

Divisions change by national release, not by user action, so they are package data and
not database rows. Everything that takes a district accepts its code or its name.
"""

from __future__ import annotations

import csv
import json
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fangkong.errors import InvalidInput, NotFound

DATA = Path(__file__).resolve().parent / "data"
GEOJSON = {"3703": "zibo-districts.geojson", "3713": "linyi-districts.geojson"}


@dataclass(frozen=True)
class City:
    code: str
    name: str


@dataclass(frozen=True)
class District:
    code: str
    name: str
    city_code: str


@dataclass(frozen=True)
class Street:
    code: str
    name: str
    district_code: str


@dataclass(frozen=True)
class ReportingUnit:
    """A unit bulletins and reports name: a district/county, or a function zone."""

    code: str
    name: str
    city_code: str
    kind: str  # "district" | "function_zone"
    district_code: str  # the district itself, or a function zone's host district
    order: int  # division-code order, function zones after the districts
    streets: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Registry:
    cities: dict[str, City]
    districts: dict[str, District]
    streets: dict[str, Street]
    units: dict[str, ReportingUnit]
    street_unit: dict[str, str]  # street code -> function zone code


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _units_file() -> Path:
    override = os.environ.get("FANGKONG_REPORTING_UNITS")
    return Path(override) if override else DATA / "reporting_units.toml"


@lru_cache
def registry() -> Registry:
    cities = {r["code"]: City(r["code"], r["name"]) for r in _rows("cities.csv")}
    districts = {
        r["code"]: District(r["code"], r["name"], r["cityCode"]) for r in _rows("areas.csv")
    }
    streets = {r["code"]: Street(r["code"], r["name"], r["areaCode"]) for r in _rows("streets.csv")}
    units: dict[str, ReportingUnit] = {}
    for order, d in enumerate(sorted(districts.values(), key=lambda d: d.code)):
        units[d.code] = ReportingUnit(d.code, d.name, d.city_code, "district", d.code, order)
    street_unit: dict[str, str] = {}
    config = tomllib.loads(_units_file().read_text(encoding="utf-8"))
    for offset, zone in enumerate(config.get("function_zone", [])):
        for street in zone["streets"]:
            if street not in streets:
                raise InvalidInput(f"reporting unit {zone['name']}: unknown street {street}")
            street_unit[street] = zone["code"]
        units[zone["code"]] = ReportingUnit(
            code=zone["code"],
            name=zone["name"],
            city_code=zone["city"],
            kind="function_zone",
            district_code=zone["host_district"],
            order=len(districts) + offset,
            streets=tuple(zone["streets"]),
        )
    return Registry(cities, districts, streets, units, street_unit)


def city(code: str) -> City:
    reg = registry()
    if code in reg.cities:
        return reg.cities[code]
    for item in reg.cities.values():
        if item.name == code or item.name.removesuffix("市") == code:
            return item
    raise NotFound(f"unknown city {code!r}", city=code)


def districts(city_code: str) -> list[District]:
    return sorted(
        (d for d in registry().districts.values() if d.city_code == city_code),
        key=lambda d: d.code,
    )


def streets(district_code: str) -> list[Street]:
    return sorted(
        (s for s in registry().streets.values() if s.district_code == district_code),
        key=lambda s: s.code,
    )


def units(city_code: str) -> list[ReportingUnit]:
    return sorted(
        (u for u in registry().units.values() if u.city_code == city_code),
        key=lambda u: u.order,
    )


def unit(code: str) -> ReportingUnit:
    try:
        return registry().units[code]
    except KeyError:
        raise NotFound(f"unknown reporting unit {code!r}", unit=code) from None


def resolve_district(value: str, city_code: str | None = None) -> District:
    """A district from its 6-digit code, its full name (周村区) or a longer code (12 digits)."""
    text = value.strip()
    reg = registry()
    if text.isdigit() and len(text) >= 6 and text[:6] in reg.districts:
        found = reg.districts[text[:6]]
        if city_code is None or found.city_code == city_code:
            return found
    matches = [
        d
        for d in reg.districts.values()
        if d.name == text and (city_code is None or d.city_code == city_code)
    ]
    if len(matches) == 1:
        return matches[0]
    raise InvalidInput(f"unknown district {value!r}", district=value)


def resolve_street(value: str, district_code: str | None = None) -> Street:
    text = value.strip()
    reg = registry()
    if text.isdigit() and len(text) >= 9 and text[:9] in reg.streets:
        found = reg.streets[text[:9]]
        if district_code is None or found.district_code == district_code:
            return found
    matches = [
        s
        for s in reg.streets.values()
        if s.name == text and (district_code is None or s.district_code == district_code)
    ]
    if len(matches) == 1:
        return matches[0]
    raise InvalidInput(f"unknown street {value!r}", street=value)


def resolve_unit(value: str, city_code: str | None = None) -> ReportingUnit:
    """A reporting unit by code or name; a district name or code resolves to its own unit."""
    text = value.strip()
    reg = registry()
    if text in reg.units:
        return reg.units[text]
    for u in reg.units.values():
        if u.name == text and (city_code is None or u.city_code == city_code):
            return u
    return reg.units[resolve_district(text, city_code).code]


def unit_for(district_code: str, street_code: str | None = None) -> ReportingUnit:
    """The reporting unit of an address: its street's function zone, else its district."""
    reg = registry()
    if street_code and street_code in reg.street_unit:
        return reg.units[reg.street_unit[street_code]]
    return reg.units[district_code]


def district_name(code: str | None) -> str | None:
    """The district's name, or None when there is no code."""
    return registry().districts[code].name if code else None


def street_name(code: str | None) -> str | None:
    """The street's name, or None when there is no code or the street is unknown."""
    street = registry().streets.get(code) if code else None
    return street.name if street else None


@lru_cache
def boundaries(city_code: str) -> dict[str, Any]:
    name = GEOJSON.get(city_code)
    if name is None:
        raise NotFound(f"no boundaries for city {city_code!r}", city=city_code)
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


@lru_cache
def district_centers(city_code: str) -> dict[str, tuple[float, float]]:
    """District code → (lon, lat) of the district's centre as the boundary file gives it:
    where a person with no finer location is taken to be (ranking quarantine sites)."""
    centers: dict[str, tuple[float, float]] = {}
    for feature in boundaries(city_code)["features"]:
        props = feature["properties"]
        if props.get("center"):
            lon, lat = props["center"]
            centers[str(props["adcode"])] = (float(lon), float(lat))
    return centers
