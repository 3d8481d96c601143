"""The community's daily worklist of home monitoring: households to check, each member's
morning and evening report, the last temperature, open tasks; masked unless the caller may
read personal data (and then audited)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.monitoring.models import MonitoringReport, MonitoringTask
from fangkong.monitoring.rules import ReportLike, WindowView, report_alerts, windows_of
from fangkong.monitoring.scope import task_conditions
from fangkong.monitoring.tasks import TaskRow, task_rows
from fangkong.people import service as people_service
from fangkong.people.masking import mask_name, mask_phone
from fangkong.policy import Policy
from fangkong.quarantine import service as quarantine
from fangkong.storage.bulk import chunks


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


def _address(compound: str | None, building: str | None, room: str | None) -> str | None:
    text = " ".join(p for p in (compound, building, room) if p)
    return text or None


def _urgency(household: HouseholdRow) -> int:
    """What a worker acts on first: today's fevers and symptoms, then open tasks (a missed
    report, a referral, a recall), then a window missed today, then everyone else."""
    members = household.members
    if any(m.alert for m in members):
        return 0
    if any(m.open_tasks for m in members):
        return 1
    if any(w.state == "missed" for m in members for w in m.windows):
        return 2
    return 3


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
    community = people_service.get_community(session, community_id=community_id, scope=scope)
    orders = quarantine.monitored_orders(session, day=day, scope=scope, community_id=community_id)
    cards = people_service.person_cards(session, [o.person_id for o in orders])
    by_order: dict[int, list[ReportLike]] = defaultdict(list)
    for batch in chunks(sorted(o.id for o in orders)):
        reports = session.scalars(
            select(MonitoringReport)
            .where(MonitoringReport.order_id.in_(batch), MonitoringReport.day == day)
            .order_by(MonitoringReport.reported_at, MonitoringReport.id)
        )
        for r in reports:
            by_order[r.order_id].append(r)
    open_found = session.scalars(
        select(MonitoringTask)
        .where(
            MonitoringTask.community_id == community_id,
            MonitoringTask.status == "open",
            task_conditions(scope),
        )
        .order_by(MonitoringTask.day, MonitoringTask.id)
    ).all()
    open_tasks: dict[str, list[TaskRow]] = defaultdict(list)
    for task in task_rows(session, open_found):
        open_tasks[task.order_no].append(task)

    members: dict[str, list[Member]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for c in orders:
        card = cards[c.person_id]
        mine = by_order.get(c.id, [])
        views = windows_of(mine, day=day, now=now, policy=policy)
        for view in views:
            counts[f"{view.name}_{view.state}"] += 1
        alert = any(report_alerts(r, policy) for r in mine)
        counts["alert"] += alert
        counts["open_tasks"] += len(open_tasks.get(c.order_no, ()))
        member = Member(
            order_no=c.order_no,
            person_no=card.person_no,
            name=card.name if pii else mask_name(card.name),
            phone=card.phone if pii else mask_phone(card.phone),
            address=_address(card.compound, card.building, card.room) if pii else None,
            status=c.status,
            windows=views,
            last_temperature=mine[-1].temperature if mine else None,
            last_reported_at=mine[-1].reported_at if mine else None,
            alert=alert,
            other_reports=sum(1 for r in mine if r.window is None),
            open_tasks=tuple(open_tasks.get(c.order_no, ())),
        )
        # A person without a household is a household of one.
        members[card.household_no or f"~{card.person_no}"].append(member)
    households = sorted(
        (
            HouseholdRow(
                household_no=None if key.startswith("~") else key,
                members=tuple(sorted(group, key=lambda m: m.person_no)),
            )
            for key, group in members.items()
        ),
        key=lambda h: (_urgency(h), h.household_no or h.members[0].person_no),
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
    """(community id, name, persons) in ``scope`` with people under monitoring on ``day``,
    by name: the worklist's choice of community."""
    counts = quarantine.communities_under_monitoring(session, day=day, scope=scope)
    names = people_service.community_names(session, counts)
    return sorted(((cid, names[cid], n) for cid, n in counts.items()), key=lambda c: c[1])
