"""Read models of zones for the API, the CLI and pages: plain rows, labels in Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fangkong.zones.lifting import Evaluated
from fangkong.zones.models import RiskZone
from fangkong.zones.rules import STATUS_LABELS, ZoneStatusCode, label


@dataclass(frozen=True)
class ConditionRow:
    code: str
    label: str
    met: bool
    detail: str
    clears: str
    rule: str


@dataclass(frozen=True)
class ZoneRow:
    code: str
    name: str
    city_code: str
    district_code: str
    level: str
    level_label: str
    status: str
    status_label: str
    rule: str
    reason: str
    case_nos: list[str]
    upgrade_of: str | None
    units: list[tuple[str, str, str]]
    proposed_on: date
    effective_at: datetime | None
    lifted_at: datetime | None
    residents: int
    venues: int
    workplaces: int
    has_boundary: bool


def zone_row(zone: RiskZone) -> ZoneRow:
    return ZoneRow(
        code=zone.code,
        name=zone.name,
        city_code=zone.city_code,
        district_code=zone.district_code,
        level=zone.level,
        level_label=label(zone.level),
        status=zone.status,
        status_label=STATUS_LABELS[ZoneStatusCode(zone.status)],
        rule=zone.rule,
        reason=zone.reason,
        case_nos=zone.case_nos.split(),
        upgrade_of=zone.upgrade_of,
        units=[(u.kind, u.ref, u.name) for u in zone.units],
        proposed_on=zone.proposed_on,
        effective_at=zone.effective_at,
        lifted_at=zone.lifted_at,
        residents=zone.residents,
        venues=zone.venues,
        workplaces=zone.workplaces,
        has_boundary=zone.geometry is not None,
    )


@dataclass(frozen=True)
class CountdownRow:
    code: str
    name: str
    level: str
    level_label: str
    day: date
    allowed: bool
    then: str | None
    then_label: str
    start: date
    due: date | None
    days_left: int
    rule: str
    conditions: list[ConditionRow]


def countdown_row(e: Evaluated) -> CountdownRow:
    v = e.verdict
    return CountdownRow(
        code=e.zone.code,
        name=e.zone.name,
        level=e.period.level,
        level_label=label(e.period.level),
        day=v.day,
        allowed=v.allowed,
        then=v.then,
        then_label=label(v.then) if v.then else "解除",
        start=v.start,
        due=v.due,
        days_left=v.days_left,
        rule=v.rule,
        conditions=[
            ConditionRow(c.code, c.label, c.met, c.detail, c.clears, c.rule) for c in v.conditions
        ],
    )
