"""Stored zones: finding them (cut to a jurisdiction), the zones in force on a day, and the
moves every change goes through — a new period when the level changes, an event naming
who, why and the rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ
from fangkong.errors import NotFound
from fangkong.zones.index import ZoneEntry, ZoneStatus
from fangkong.zones.models import RiskZone, RiskZoneEvent, RiskZonePeriod, ZoneScreening
from fangkong.zones.rules import check_move
from fangkong.zones.scope import zone_conditions


@dataclass(frozen=True)
class ZoneFilter:
    city_code: str | None = None
    status: str | None = None
    level: str | None = None
    district_code: str | None = None
    in_force_on: date | None = None


def get_zone(session: Session, *, code: str, scope: Jurisdiction) -> RiskZone:
    zone = session.scalar(
        select(RiskZone)
        .where(RiskZone.code == code, zone_conditions(scope))
        .options(selectinload(RiskZone.units))
    )
    if zone is None:
        raise NotFound(f"no zone {code!r}", zone=code)
    return zone


def find_zone(session: Session, code: str) -> RiskZone | None:
    return session.scalar(select(RiskZone).where(RiskZone.code == code))


def _period_on(day: date) -> list[ColumnElement[bool]]:
    return [
        RiskZonePeriod.starts_on <= day,
        or_(RiskZonePeriod.ends_on.is_(None), RiskZonePeriod.ends_on > day),
    ]


def list_zones(
    session: Session,
    *,
    flt: ZoneFilter,
    scope: Jurisdiction,
    limit: int = 500,
    offset: int = 0,
    options: Sequence[ExecutableOption] = (),
) -> list[RiskZone]:
    conditions = [zone_conditions(scope)]
    if flt.city_code:
        conditions.append(RiskZone.city_code == flt.city_code)
    if flt.status:
        conditions.append(RiskZone.status == flt.status)
    if flt.level:
        conditions.append(RiskZone.level == flt.level)
    if flt.district_code:
        conditions.append(RiskZone.district_code == flt.district_code)
    if flt.in_force_on is not None:
        conditions.append(
            RiskZone.id.in_(select(RiskZonePeriod.zone_id).where(*_period_on(flt.in_force_on)))
        )
    return list(
        session.scalars(
            select(RiskZone)
            .where(*conditions)
            .options(selectinload(RiskZone.units), *options)
            .order_by(RiskZone.code)
            .limit(limit)
            .offset(offset)
        )
    )


def in_force_on(
    session: Session, *, day: date, city_code: str | None = None
) -> list[tuple[RiskZone, RiskZonePeriod]]:
    """The zones in force on a local day with the period that holds it."""
    query = (
        select(RiskZone, RiskZonePeriod)
        .join(RiskZonePeriod, RiskZonePeriod.zone_id == RiskZone.id)
        .where(*_period_on(day))
        .options(selectinload(RiskZone.units))
        .order_by(RiskZone.code)
    )
    if city_code is not None:
        query = query.where(RiskZonePeriod.city_code == city_code)
    return [(row[0], row[1]) for row in session.execute(query)]


def entries_on(session: Session, *, day: date, city_code: str | None = None) -> list[ZoneEntry]:
    """The index entries of the zones in force on a day."""
    return [
        ZoneEntry(
            ZoneStatus(p.level, z.code, p.starts_on, p.rule),
            tuple((u.kind, u.ref) for u in z.units),
            z.geometry,
        )
        for z, p in in_force_on(session, day=day, city_code=city_code)
    ]


def next_code(session: Session, *, city_code: str, day: date) -> str:
    """``Z<city>-<yyyymmdd>-<n>``: the day's zones numbered in order."""
    prefix = f"Z{city_code}-{day:%Y%m%d}-"
    count = session.scalar(select(func.count()).where(RiskZone.code.like(f"{prefix}%"))) or 0
    return f"{prefix}{count + 1:03d}"


def record_event(
    zone: RiskZone,
    *,
    action: str,
    to_status: str,
    to_level: str,
    actor: str,
    reason: str,
    rule: str,
    now: datetime,
) -> None:
    """Move the zone (status and level, checked) and keep the move in its history."""
    if action != "proposed":
        check_move(zone.status, to_status)
    zone.events.append(
        RiskZoneEvent(
            at=now,
            actor=actor,
            action=action,
            from_status=None if action == "proposed" else zone.status,
            to_status=to_status,
            from_level=None if action == "proposed" else zone.level,
            to_level=to_level,
            reason=reason,
            rule=rule,
        )
    )
    zone.status = to_status
    zone.level = to_level
    zone.updated_at = now


def open_period(zone: RiskZone) -> RiskZonePeriod | None:
    return next((p for p in zone.periods if p.ends_on is None), None)


def start_period(zone: RiskZone, *, level: str, day: date, rule: str, downgraded: bool) -> None:
    """End the running period on ``day`` (if any) and start one at ``level`` from it."""
    current = open_period(zone)
    if current is not None:
        if current.starts_on >= day:  # a change on the first day replaces that day's level
            zone.periods.remove(current)
        else:
            current.ends_on = day
    zone.periods.append(
        RiskZonePeriod(
            city_code=zone.city_code, level=level, starts_on=day, rule=rule, downgraded=downgraded
        )
    )


def end_period(zone: RiskZone, *, day: date) -> None:
    current = open_period(zone)
    if current is not None:
        if current.starts_on >= day:
            zone.periods.remove(current)
        else:
            current.ends_on = day


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def zones_by_code(session: Session, codes: Sequence[str]) -> dict[str, RiskZone]:
    if not codes:
        return {}
    return {
        z.code: z for z in session.scalars(select(RiskZone).where(RiskZone.code.in_(list(codes))))
    }


def county_zones(session: Session, *, district_code: str, day: date, levels: Sequence[str]) -> int:
    """How many zones of these levels in a district are in force on a day."""
    return int(
        session.scalar(
            select(func.count(func.distinct(RiskZone.id)))
            .join(RiskZonePeriod, RiskZonePeriod.zone_id == RiskZone.id)
            .where(
                and_(RiskZone.district_code == district_code, RiskZonePeriod.level.in_(levels)),
                *_period_on(day),
            )
        )
        or 0
    )


def proposed_zones(session: Session) -> list[RiskZone]:
    """Every zone awaiting a decision (few: the HQ decides them each morning)."""
    return list(
        session.scalars(
            select(RiskZone)
            .where(RiskZone.status == "proposed")
            .options(selectinload(RiskZone.units))
            .order_by(RiskZone.code)
        )
    )


def screenings(session: Session, zone_ids: Sequence[int]) -> list[ZoneScreening]:
    found: list[ZoneScreening] = []
    for start in range(0, len(zone_ids), 500):
        found.extend(
            session.scalars(
                select(ZoneScreening)
                .where(ZoneScreening.zone_id.in_(list(zone_ids[start : start + 500])))
                .order_by(ZoneScreening.day, ZoneScreening.id)
            )
        )
    return found
