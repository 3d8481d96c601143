"""Read models of the zone pages: the map and its list (every zone in force on a day with
its countdown), one zone's page (extent, counts, history, conditions, rounds), and the
dashboard's card. Labels in Chinese; times in Beijing time."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import beijing_minute
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.zones import lifting, records, screening
from fangkong.zones.rules import (
    EXTENT_LABELS,
    LEVEL_MEASURES,
    SEVERITY,
    STATUS_LABELS,
    ZoneStatusCode,
    label,
)
from fangkong.zones.views import ConditionRow, CountdownRow, countdown_row

ACTION_LABELS = {
    "proposed": "提出",
    "confirmed": "确认",
    "edited": "调整",
    "rejected": "驳回",
    "downgraded": "降级",
    "lifted": "解除",
    "upgraded": "升级替代",
}


def local(at: datetime | None) -> str:
    """``2022-03-16 10:00`` in Beijing time."""
    return beijing_minute(at)


@dataclass(frozen=True)
class MapZone:
    code: str
    name: str
    district: str
    level: str
    level_label: str
    since: date
    residents: int
    venues: int
    workplaces: int
    days_left: int
    due: date | None
    then_label: str
    allowed: bool
    blocking: list[str]
    geometry: dict[str, Any] | None


@dataclass
class ZoneMap:
    day: date
    city_code: str
    zones: list[MapZone]
    proposed: int
    counts: dict[str, int] = field(default_factory=dict)  # level label → zones

    def chart(self) -> dict[str, Any]:
        """What the map's script draws (no personal data: names of places only)."""
        worst: dict[str, tuple[int, str]] = {}
        for z in self.zones:
            rank = SEVERITY.get(z.level, 0)
            if rank > worst.get(z.district, (0, ""))[0]:
                worst[z.district] = (rank, z.level_label)
        return {
            "city": self.city_code,
            "day": self.day.isoformat(),
            "districts": [{"name": d, "level": lv} for d, (_, lv) in worst.items()],
            "zones": [
                {
                    "code": z.code,
                    "name": z.name,
                    "level": z.level,
                    "label": z.level_label,
                    "days_left": z.days_left,
                    "geometry": z.geometry,
                }
                for z in self.zones
                if z.geometry
            ],
        }


def zone_map(session: Session, *, day: date, policy: Policy, scope: Jurisdiction) -> ZoneMap:
    evaluated = lifting.evaluate_zones(session, day=day, policy=policy, scope=scope)
    zones: list[MapZone] = []
    for e in evaluated:
        row = countdown_row(e)
        zones.append(
            MapZone(
                code=e.zone.code,
                name=e.zone.name,
                district=regions.district_name(e.zone.district_code) or e.zone.district_code,
                level=e.period.level,
                level_label=label(e.period.level),
                since=e.period.starts_on,
                residents=e.zone.residents,
                venues=e.zone.venues,
                workplaces=e.zone.workplaces,
                days_left=row.days_left,
                due=row.due,
                then_label=row.then_label,
                allowed=row.allowed,
                blocking=[c.label for c in row.conditions if not c.met],
                geometry=json.loads(e.zone.geometry) if e.zone.geometry else None,
            )
        )
    zones.sort(key=lambda z: (-SEVERITY.get(z.level, 0), z.days_left, z.code))
    proposed = len(
        records.list_zones(
            session, flt=records.ZoneFilter(status="proposed"), scope=scope, limit=10_000
        )
    )
    city = scope.city_code or ""
    counts = Counter(z.level_label for z in zones)
    return ZoneMap(day, city, zones, proposed, dict(counts))


@dataclass(frozen=True)
class EventRow:
    at: str
    actor: str
    action: str
    change: str
    reason: str
    rule: str


@dataclass(frozen=True)
class ScreeningRow:
    day: date
    round_code: str
    sampled: int
    positives: int


@dataclass(frozen=True)
class ZonePage:
    code: str
    name: str
    district: str
    level_label: str
    status: str
    status_label: str
    measures: str
    edition: str
    rule: str
    reason: str
    case_nos: list[str]
    effective_at: str
    lifted_at: str
    extent: list[tuple[str, str]]  # (unit kind label, name)
    residents: int
    venues: int
    workplaces: int
    has_boundary: bool
    countdown: CountdownRow | None
    conditions: list[ConditionRow]
    events: list[EventRow]
    screenings: list[ScreeningRow]
    rounds: list[str]
    notice_day: date | None


def zone_page(
    session: Session, *, code: str, day: date, policy: Policy, scope: Jurisdiction
) -> ZonePage:
    zone = records.get_zone(session, code=code, scope=scope)
    found = lifting.evaluate_zone(session, code=code, day=day, policy=policy, scope=scope)
    countdown = countdown_row(found) if found else None
    events = [
        EventRow(
            local(e.at),
            e.actor,
            ACTION_LABELS.get(e.action, e.action),
            label(e.to_level)
            if e.from_level in (None, e.to_level)
            else f"{label(e.from_level)}→{label(e.to_level)}",
            e.reason,
            e.rule,
        )
        for e in zone.events
    ]
    rows = records.screenings(session, [zone.id])
    return ZonePage(
        code=zone.code,
        name=zone.name,
        district=regions.district_name(zone.district_code) or zone.district_code,
        level_label=label(zone.level),
        status=zone.status,
        status_label=STATUS_LABELS[ZoneStatusCode(zone.status)],
        measures=LEVEL_MEASURES.get(zone.level, ""),
        edition=zone.edition,
        rule=zone.rule,
        reason=zone.reason,
        case_nos=zone.case_nos.split(),
        effective_at=local(zone.effective_at),
        lifted_at=local(zone.lifted_at),
        extent=[(EXTENT_LABELS.get(u.kind, u.kind), u.name) for u in zone.units],
        residents=zone.residents,
        venues=zone.venues,
        workplaces=zone.workplaces,
        has_boundary=zone.geometry is not None,
        countdown=countdown,
        conditions=countdown.conditions if countdown else [],
        events=events,
        screenings=[ScreeningRow(r.day, r.round_code, r.sampled, r.positives) for r in rows],
        rounds=screening.round_zone_codes_of(session, zone.id),
        notice_day=records.local_day(zone.effective_at) if zone.effective_at else None,
    )


@dataclass(frozen=True)
class Card:
    day: date
    counts: list[tuple[str, int]]
    proposed: int
    next_due: list[tuple[str, str, int]]  # (code, name, days left)


def card(session: Session, *, day: date, policy: Policy, scope: Jurisdiction) -> Card:
    """The dashboard's card: zones in force by level, proposals awaiting the HQ, and the
    zones closest to lifting."""
    found = zone_map(session, day=day, policy=policy, scope=scope)
    order = sorted(found.counts.items(), key=lambda kv: kv[0])
    soon = sorted(
        (z for z in found.zones if SEVERITY.get(z.level, 0) >= 2),
        key=lambda z: (z.days_left, z.code),
    )[:3]
    return Card(day, order, found.proposed, [(z.code, z.name, z.days_left) for z in soon])
