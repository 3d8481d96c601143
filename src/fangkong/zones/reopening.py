"""Reopening decisions as data (seed 000): stored, imported from a TOML file, and asked
"may this venue open, may this enterprise resume, and on what conditions" — the questions
health-code verification and enterprise return to work put.

The decision in force at a moment is the city's latest one whose ``effective_at`` has come;
a city with none answers open, without conditions.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import venues as people_venues
from fangkong.people.vocab import INDUSTRIES, VENUE_CATEGORIES
from fangkong.regions import service as regions
from fangkong.zones import places, records
from fangkong.zones.day import day_zones
from fangkong.zones.index import ZoneStatus
from fangkong.zones.models import ReopeningDecision, ReopeningRule
from fangkong.zones.reopening_notice import DecisionText
from fangkong.zones.reopening_notice import render as render_decision
from fangkong.zones.reopening_rules import VERDICTS, ZONE_SCOPES, Cell, PlaceFacts, match
from fangkong.zones.rules import SEVERITY


@dataclass(frozen=True)
class ReopeningVerdict:
    """May it open (resume): the conditions to keep, and the decision cell behind it."""

    allowed: bool
    conditions: tuple[str, ...]
    rule: str
    verdict: str = "open"


def cell_of(rule: ReopeningRule) -> Cell:
    return Cell(
        rule.region_kind,
        rule.region_code,
        rule.zones,
        rule.category,
        rule.verdict,
        rule.capacity_share,
        rule.temperature,
        rule.code_check,
        rule.mask,
        rule.test_within_hours,
        rule.note,
    )


def decision_in_force(
    session: Session, *, city_code: str, at: datetime
) -> ReopeningDecision | None:
    return session.scalar(
        select(ReopeningDecision)
        .where(ReopeningDecision.city_code == city_code, ReopeningDecision.effective_at <= at)
        .options(selectinload(ReopeningDecision.rules))
        .order_by(ReopeningDecision.effective_at.desc(), ReopeningDecision.id.desc())
        .limit(1)
    )


def get_decision(session: Session, *, code: str) -> ReopeningDecision:
    found = session.scalar(
        select(ReopeningDecision)
        .where(ReopeningDecision.code == code)
        .options(selectinload(ReopeningDecision.rules))
    )
    if found is None:
        raise NotFound(f"no reopening decision {code!r}", decision=code)
    return found


def list_decisions(session: Session, *, city_code: str) -> list[ReopeningDecision]:
    return list(
        session.scalars(
            select(ReopeningDecision)
            .where(ReopeningDecision.city_code == city_code)
            .order_by(ReopeningDecision.effective_at.desc())
        )
    )


def _inside(found: ZoneStatus | None) -> bool:
    """Inside a zone of the two severer levels; the county-wide level does not count."""
    return found is not None and SEVERITY.get(found.level, 0) >= 2


def _verdict(decision: ReopeningDecision | None, place: PlaceFacts) -> ReopeningVerdict:
    if decision is None:
        return ReopeningVerdict(True, (), "reopening:none", "open")
    v = match([cell_of(r) for r in decision.rules], place)
    if v.cell is None:
        return ReopeningVerdict(True, (), f"reopening:{decision.code}", "open")
    c = v.cell
    rule = f"reopening:{decision.code}:{c.region_kind}={c.region_code}/{c.zones}/{c.category}"
    return ReopeningVerdict(v.allowed, v.conditions, rule, v.verdict)


def _local_day(at: datetime) -> date:
    return records.local_day(at)


def venue_may_open(session: Session, venue_no: str, at: datetime) -> ReopeningVerdict:
    """May the venue (by its venue code) open at ``at``, and on what conditions."""
    venue = people_venues.require_venue(session, venue_code=venue_no)
    district = regions.registry().districts[venue.district_code]
    zones = day_zones(session, day=_local_day(at), city_code=district.city_code)
    found = zones.of_venue(
        venue_code=venue.venue_code,
        district_code=venue.district_code,
        street_code=venue.street_code,
        lon=venue.lon,
        lat=venue.lat,
    )
    categories = tuple(c for c in (venue.category, venue.industry) if c)
    place = PlaceFacts(
        district.city_code,
        venue.district_code,
        regions.unit_for(venue.district_code, venue.street_code).code,
        categories,
        _inside(found),
    )
    decision = decision_in_force(session, city_code=district.city_code, at=at)
    return _verdict(decision, place)


def enterprise_may_resume(session: Session, workplace_no: str, at: datetime) -> ReopeningVerdict:
    """May the enterprise (by its workplace number) resume work at ``at``."""
    info = places.workplace_info(session, workplace_no)
    district = regions.registry().districts[info.district_code]
    zones = day_zones(session, day=_local_day(at), city_code=district.city_code)
    found = zones.of_workplace(
        workplace_no=workplace_no, district_code=info.district_code, street_code=info.street_code
    )
    place = PlaceFacts(
        district.city_code,
        info.district_code,
        regions.unit_for(info.district_code, info.street_code).code,
        (info.industry,),
        _inside(found),
    )
    decision = decision_in_force(session, city_code=district.city_code, at=at)
    return _verdict(decision, place)


# ---------------------------------------------------------------- import


_KINDS = ("city", "district", "unit")


def _region(value: str, city_code: str) -> tuple[str, str]:
    if value in ("city", "全市", city_code):
        return "city", city_code
    try:
        return "district", regions.resolve_district(value, city_code).code
    except (NotFound, InvalidInput):
        pass
    try:
        return "unit", regions.resolve_unit(value, city_code).code
    except (NotFound, InvalidInput):
        raise InvalidInput(f"unknown region {value!r}", field="region") from None


def import_decision(session: Session, *, text: str, now: datetime, by: str) -> ReopeningDecision:
    """A decision from TOML: ``code``, ``city``, ``title``, ``issuer``, ``effective_at``
    (with offset), ``source``, and ``[[cell]]`` tables (``region``, ``zones``,
    ``categories``, ``verdict``, conditions). Bad input names the cell and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"the decision is not TOML: {exc}") from None
    for key in ("code", "city", "title", "issuer", "effective_at"):
        if key not in data:
            raise InvalidInput(f"the decision needs {key!r}", field=key)
    city = regions.city(str(data["city"]))
    effective = data["effective_at"]
    if not isinstance(effective, datetime) or effective.tzinfo is None:
        raise InvalidInput(
            "effective_at must be a date-time with its offset, e.g. 2022-03-23T00:00:00+08:00",
            field="effective_at",
        )
    if session.scalar(select(ReopeningDecision.id).where(ReopeningDecision.code == data["code"])):
        raise Conflict(f"reopening decision {data['code']!r} exists", decision=data["code"])
    decision = ReopeningDecision(
        code=str(data["code"]),
        city_code=city.code,
        title=str(data["title"]),
        issuer=str(data["issuer"]),
        effective_at=effective,
        source=data.get("source"),
        created_by=by,
        created_at=now,
    )
    for n, cell in enumerate(data.get("cell", []), start=1):
        where = f"cell {n}"
        verdict = cell.get("verdict")
        if verdict not in VERDICTS:
            raise InvalidInput(
                f"{where}: verdict must be one of {', '.join(VERDICTS)}", field="verdict", cell=n
            )
        zones = cell.get("zones", "any")
        if zones not in ZONE_SCOPES:
            raise InvalidInput(
                f"{where}: zones must be one of {', '.join(ZONE_SCOPES)}", field="zones", cell=n
            )
        share = cell.get("capacity_share")
        if share is not None and not (0 < float(share) <= 1):
            raise InvalidInput(f"{where}: capacity_share in (0, 1]", field="capacity_share")
        try:
            kind, code = _region(str(cell.get("region", "city")), city.code)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}", field="region", cell=n) from None
        for category in cell.get("categories", ["*"]):
            decision.rules.append(
                ReopeningRule(
                    region_kind=kind,
                    region_code=code,
                    zones=zones,
                    category=str(category),
                    verdict=verdict,
                    capacity_share=share,
                    temperature=bool(cell.get("temperature", False)),
                    code_check=bool(cell.get("code_check", False)),
                    mask=bool(cell.get("mask", False)),
                    test_within_hours=cell.get("test_within_hours"),
                    note=cell.get("note"),
                )
            )
    if not decision.rules:
        raise InvalidInput("the decision has no [[cell]]", field="cell")
    session.add(decision)
    session.flush()
    return decision


# ---------------------------------------------------------------- reading a decision

BUILTIN = {"zibo-2022-03-23": "zibo-2022-03-23.toml"}


def builtin_text(name: str) -> str:
    """A decision shipped with fangkong (``zones/data``): 淄博's of 23 March 2022."""
    if name not in BUILTIN:
        raise NotFound(f"no built-in decision {name!r}; known: {', '.join(BUILTIN)}")
    return (Path(__file__).parent / "data" / BUILTIN[name]).read_text(encoding="utf-8")


def _labels() -> dict[str, str]:
    return {**INDUSTRIES, **VENUE_CATEGORIES, "*": "各行业"}


def _region_names(decision: ReopeningDecision) -> dict[str, str]:
    names: dict[str, str] = {}
    reg = regions.registry()
    for rule in decision.rules:
        if rule.region_kind == "district" and rule.region_code in reg.districts:
            names[rule.region_code] = reg.districts[rule.region_code].name
        elif rule.region_kind == "unit" and rule.region_code in reg.units:
            names[rule.region_code] = reg.units[rule.region_code].name
    return names


def decision_notice(decision: ReopeningDecision) -> str:
    """The decision's notice, generated from its cells."""
    return render_decision(
        DecisionText(
            title=decision.title,
            city_name=regions.city(decision.city_code).name,
            issuer=decision.issuer,
            effective_at=decision.effective_at,
            cells=tuple(cell_of(r) for r in decision.rules),
            region_names=_region_names(decision),
            category_labels=_labels(),
        )
    )


@dataclass(frozen=True)
class MatrixCell:
    verdict: str
    verdict_label: str
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class Matrix:
    """A decision as a table: a row per region and zone scope, a column per category."""

    code: str
    title: str
    issuer: str
    effective_at: datetime
    source: str | None
    columns: list[tuple[str, str]]  # (category, label)
    rows: list[tuple[str, list[MatrixCell | None]]]  # (region label, cells by column)
    notice: str


def matrix(decision: ReopeningDecision) -> Matrix:
    labels = _labels()
    names = _region_names(decision)
    columns: list[str] = []
    for r in decision.rules:
        if r.category not in columns:
            columns.append(r.category)
    columns.sort(key=lambda c: (c != "*", 0))
    rows: dict[str, list[MatrixCell | None]] = {}
    for r in decision.rules:
        region = "全市" if r.region_kind == "city" else names.get(r.region_code, r.region_code)
        scope = ZONE_SCOPES[r.zones] if r.zones != "any" else ""
        key = f"{region}{'（' + scope + '）' if scope else ''}"
        row = rows.setdefault(key, [None] * len(columns))
        cell = cell_of(r)
        row[columns.index(r.category)] = MatrixCell(
            r.verdict, VERDICTS[r.verdict], cell.conditions()
        )
    return Matrix(
        decision.code,
        decision.title,
        decision.issuer,
        decision.effective_at,
        decision.source,
        [(c, labels.get(c, c)) for c in columns],
        list(rows.items()),
        decision_notice(decision),
    )
