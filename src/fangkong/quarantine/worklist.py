"""The community's daily worklist of home monitoring: households to check, each member's
morning and evening report, the last temperature, open tasks; masked unless the caller may
read personal data (and then audited)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    and_,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.errors import NotFound
from fangkong.people.masking import mask_name, mask_phone
from fangkong.people.models import Building, Community, Compound, Household, Person
from fangkong.people.service import covers
from fangkong.policy import Policy
from fangkong.quarantine.models import MonitoringReport, MonitoringTask, QuarantineOrder
from fangkong.quarantine.monitoring import (
    MONITORED_STAGES,
    MONITORED_STATUSES,
    AnyRow,
    WindowView,
    monitored_stage,
    report_alerts,
    windows_of,
)
from fangkong.quarantine.monitoring_tasks import TaskRow, task_rows
from fangkong.quarantine.orders import OrderStatus
from fangkong.quarantine.scope import order_conditions, task_conditions


@dataclass(frozen=True)
class Member:
    order_no: str
    person_no: str
    name: str | None
    phone: str | None
    address: str | None  # building and room, only in full
    status: str
    windows: tuple[WindowView, ...]
    last_temperature: float | None
    last_reported_at: datetime | None
    alert: bool  # a report of the day alerts
    other_reports: int  # outside every window
    open_tasks: tuple[TaskRow, ...]


@dataclass(frozen=True)
class HouseholdRow:
    household_no: str | None
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Worklist:
    day: date
    community_id: int
    community_name: str
    street_code: str
    pii: bool
    total_households: int
    total_persons: int
    counts: dict[str, int]
    households: tuple[HouseholdRow, ...]
    limit: int
    offset: int


def community_in_scope(session: Session, *, community_id: int, scope: Jurisdiction) -> Community:
    community = session.get(Community, community_id)
    if community is None or not covers(
        scope,
        district_code=community.district_code,
        street_code=community.street_code,
        community_id=community.id,
    ):
        raise NotFound(f"no community {community_id}", community_id=community_id)
    return community


def _address(compound: str | None, building: str | None, room: str | None) -> str | None:
    text = " ".join(p for p in (compound, building, room) if p)
    return text or None


def worklist(
    session: Session,
    *,
    day: date,
    community_id: int,
    scope: Jurisdiction,
    now: datetime,
    policy: Policy,
    pii: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Worklist:
    """The community's households under monitoring on ``day``: each member's morning and
    evening report (reported with temperature / missed / open / not yet), last temperature
    and open tasks. Households with open tasks come first; ``limit``/``offset`` page them.
    Names and phones are masked unless ``pii`` (the caller audits a full view)."""
    community = community_in_scope(session, community_id=community_id, scope=scope)
    o, p = QuarantineOrder, Person
    candidates = session.execute(
        select(
            o.id,
            o.order_no,
            o.status,
            o.stages,
            o.person_kind,
            o.start_on,
            p.person_no,
            p.name,
            p.phone,
            p.room,
            Household.household_no,
            Compound.name.label("compound"),
            Building.name.label("building"),
        )
        .join(p, p.id == o.person_id)
        .outerjoin(Household, Household.id == p.household_id)
        .outerjoin(Compound, Compound.id == p.compound_id)
        .outerjoin(Building, Building.id == p.building_id)
        .where(
            o.community_id == community_id,
            o.status.in_(MONITORED_STATUSES),
            o.start_on <= day,
            order_conditions(scope),
        )
    ).all()
    orders = [
        c for c in candidates if monitored_stage(c.status, c.stages, c.person_kind, c.start_on, day)
    ]
    ids = {c.id for c in orders}
    by_order: dict[int, list[AnyRow]] = defaultdict(list)
    reports = session.execute(
        select(
            MonitoringReport.order_id,
            MonitoringReport.window,
            MonitoringReport.temperature,
            MonitoringReport.symptoms,
            MonitoringReport.reported_at,
            MonitoringReport.channel,
        )
        .join(o, o.id == MonitoringReport.order_id)
        .where(o.community_id == community_id, MonitoringReport.day == day)
        .order_by(MonitoringReport.reported_at, MonitoringReport.id)
    ).all()
    for r in reports:
        if r.order_id in ids:
            by_order[r.order_id].append(r)
    open_rows = session.execute(
        select(MonitoringTask, o.order_no, p.person_no, p.name)
        .join(o, o.id == MonitoringTask.order_id)
        .join(p, p.id == o.person_id)
        .where(
            MonitoringTask.community_id == community_id,
            MonitoringTask.status == "open",
            task_conditions(scope),
        )
        .order_by(MonitoringTask.day, MonitoringTask.id)
    ).all()
    open_tasks: dict[str, list[TaskRow]] = defaultdict(list)
    for task in task_rows(open_rows):
        open_tasks[task.order_no].append(task)

    members: dict[str, list[Member]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for c in orders:
        mine = by_order.get(c.id, [])
        views = windows_of(mine, day=day, now=now, policy=policy)
        for view in views:
            counts[f"{view.name}_{view.state}"] += 1
        alert = any(report_alerts(r, policy) for r in mine)
        counts["alert"] += alert
        counts["open_tasks"] += len(open_tasks.get(c.order_no, ()))
        member = Member(
            order_no=c.order_no,
            person_no=c.person_no,
            name=c.name if pii else mask_name(c.name),
            phone=c.phone if pii else mask_phone(c.phone),
            address=_address(c.compound, c.building, c.room) if pii else None,
            status=c.status,
            windows=views,
            last_temperature=mine[-1].temperature if mine else None,
            last_reported_at=mine[-1].reported_at if mine else None,
            alert=alert,
            other_reports=sum(1 for r in mine if r.window is None),
            open_tasks=tuple(open_tasks.get(c.order_no, ())),
        )
        # A person without a household is a household of one.
        members[c.household_no or f"~{c.person_no}"].append(member)
    households = sorted(
        (
            HouseholdRow(
                household_no=None if key.startswith("~") else key,
                members=tuple(sorted(group, key=lambda m: m.person_no)),
            )
            for key, group in members.items()
        ),
        key=lambda h: (
            not any(m.open_tasks or m.alert for m in h.members),
            h.household_no or h.members[0].person_no,
        ),
    )
    counts["persons"] = len(orders)
    return Worklist(
        day=day,
        community_id=community.id,
        community_name=community.name,
        street_code=community.street_code,
        pii=pii,
        total_households=len(households),
        total_persons=len(orders),
        counts=dict(counts),
        households=tuple(households[offset : offset + limit]),
        limit=limit,
        offset=offset,
    )


def record_full_view(
    session: Session, *, principal: Principal, found: Worklist, now: datetime
) -> None:
    """A full (unmasked) worklist is a read of personal data: one audit entry per page."""
    shown = [m.person_no for h in found.households for m in h.members]
    if shown:
        audit.record(
            session,
            principal=principal,
            action="read_pii",
            now=now,
            entity_type="monitoring_worklist",
            entity_id=f"{found.community_id}:{found.day.isoformat()}",
            fields=["name", "phone", "address"],
            detail={"rows": len(shown), "persons": shown[:100], "offset": found.offset},
        )


def communities_under_monitoring(
    session: Session, *, day: date, scope: Jurisdiction
) -> list[tuple[int, str, int]]:
    """(community id, name, persons) in ``scope`` with people under monitoring on ``day``:
    the worklist's choice of community. Counted in SQL without reading the stages: in home
    monitoring, or in quarantine on an order that started at home and has not ended."""
    o = QuarantineOrder
    rows = session.execute(
        select(Community.id, Community.name, func.count(o.id))
        .join(o, o.community_id == Community.id)
        .where(
            o.start_on <= day,
            or_(
                o.status == OrderStatus.in_home_monitoring.value,
                and_(
                    o.status == OrderStatus.in_quarantine.value,
                    o.kind.in_(MONITORED_STAGES),
                    o.planned_end >= day,
                ),
            ),
            order_conditions(scope) if scope.is_area else false(),
        )
        .group_by(Community.id, Community.name)
        .order_by(Community.name)
    ).all()
    return [(cid, name, int(n)) for cid, name, n in rows]
