"""Home health monitoring (居家健康监测, RULES §3): temperature reports morning and evening and
the alerts they raise (the tasks are ``monitoring/tasks.py``, the community's list
``monitoring/worklist.py``, the rules ``monitoring/rules.py``).

A fever (≥ ``policy.quarantine.fever_celsius``) or a listed symptom raises a ``referral`` task
(to a fever clinic) as soon as it is reported; a report window that closes without a report
raises a ``follow_up`` task for the household's 五包一 team when the alert run passes. Tasks
are unique per order, kind, day and window, so every step can be repeated safely.

Monitoring is a stage of a quarantine order: which orders are under monitoring on a day, and
which of them a jurisdiction sees, is the quarantine service's answer. Functions take the
session and keywords and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import ColumnElement, Table, and_, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ
from fangkong.errors import Conflict, InvalidInput
from fangkong.monitoring.models import MonitoringLink, MonitoringReport, MonitoringTask
from fangkong.monitoring.rules import (
    CHANNELS,
    CLOCK_SKEW,
    MAX_CELSIUS,
    MIN_CELSIUS,
    SELF_REPORTS_PER_DAY,
    SYMPTOMS,
    WindowView,
    alert_reason,
    alerting_symptoms,
    follow_up_reason,
    report_window,
    symptom_codes,
    window_bounds,
    windows_of,
)
from fangkong.monitoring.scope import task_conditions
from fangkong.people import service as people_service
from fangkong.people.masking import mask_name
from fangkong.policy import Policy
from fangkong.quarantine import service as quarantine
from fangkong.quarantine.scope import visible_order_ids
from fangkong.quarantine.stages import monitored_on

if TYPE_CHECKING:
    from fangkong.quarantine.models import QuarantineOrder


class NotUnderMonitoring(Conflict):
    code = "not_under_monitoring"


class TaskClosed(Conflict):
    code = "task_closed"


class TooManyReports(InvalidInput):
    code = "too_many_reports"
    status = 429


def _alert_condition(policy: Policy) -> ColumnElement[bool]:
    """SQL twin of ``alert_reason(...) is not None``: codes are space-separated."""
    padded = literal(" ") + MonitoringReport.symptoms + literal(" ")
    return or_(
        MonitoringReport.temperature >= policy.quarantine.fever_celsius,
        *(padded.like(f"% {code} %") for code in policy.quarantine.symptoms),
    )


def _insert_tasks(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert tasks in one statement per batch, skipping any that a concurrent run made."""
    if not rows:
        return
    table = cast(Table, MonitoringTask.__table__)
    keys = [table.c.order_id, table.c.kind, table.c.day, table.c.window]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt: Any = sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    else:
        stmt = insert(table)
    session.execute(stmt, rows)


class Placed(Protocol):
    """An order with its person's home area: a task is the community's of that home."""

    @property
    def id(self) -> int: ...
    @property
    def district_code(self) -> str | None: ...
    @property
    def street_code(self) -> str | None: ...
    @property
    def community_id(self) -> int | None: ...


def _task_row(
    order: Placed,
    *,
    kind: str,
    day: date,
    window: str,
    reason: str,
    now: datetime,
    report_id: int | None = None,
) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "kind": kind,
        "day": day,
        "window": window,
        "reason": reason,
        "report_id": report_id,
        "district_code": order.district_code,
        "street_code": order.street_code,
        "community_id": order.community_id,
        "status": "open",
        "created_at": now,
    }


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class Recorded:
    report: MonitoringReport
    alert: str | None  # why it alerts, or None
    task: MonitoringTask | None  # the referral it raised (or reopened)


def get_order(session: Session, *, order_no: str, scope: Jurisdiction) -> QuarantineOrder:
    """An order inside ``scope``; one outside reads as absent."""
    return quarantine.get_order(session, order_no, scope=scope)


def reports_on(session: Session, *, order_id: int, day: date) -> list[MonitoringReport]:
    return list(
        session.scalars(
            select(MonitoringReport)
            .where(MonitoringReport.order_id == order_id, MonitoringReport.day == day)
            .order_by(MonitoringReport.reported_at, MonitoringReport.id)
        )
    )


def record_report(
    session: Session,
    *,
    order: QuarantineOrder,
    at: datetime,
    temperature: float,
    symptoms: Iterable[str],
    channel: str,
    entered_by: str,
    note: str | None,
    policy: Policy,
    now: datetime | None = None,
) -> Recorded:
    """Record a report of ``order``'s person and raise its referral at once when it alerts.

    Refused: a time without zone (or ahead of ``now``), a temperature outside 34–43 ℃, an
    unknown symptom, an unknown channel, an order not under home monitoring that day."""
    if at.tzinfo is None:
        raise InvalidInput("a report time must carry its time zone", field="at")
    if now is not None and at > now + CLOCK_SKEW:
        raise InvalidInput("a report cannot be in the future", field="at", at=at.isoformat())
    if not MIN_CELSIUS <= temperature <= MAX_CELSIUS:
        raise InvalidInput(
            f"体温应在 {MIN_CELSIUS:.0f}–{MAX_CELSIUS:.0f} ℃ 之间，请重新测量后录入",
            field="temperature",
            temperature=temperature,
        )
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}", field="channel", known=list(CHANNELS))
    given = set(symptoms)
    alerting_symptoms(given, policy)  # refuses unknown codes
    day = at.astimezone(LOCAL_TZ).date()
    if not monitored_on(order, day):
        raise NotUnderMonitoring(
            f"order {order.order_no} is not under home monitoring on {day.isoformat()}",
            order_no=order.order_no,
            day=day.isoformat(),
        )
    if channel == "self":
        count = session.scalar(
            select(func.count(MonitoringReport.id)).where(
                MonitoringReport.order_id == order.id, MonitoringReport.day == day
            )
        )
        if (count or 0) >= SELF_REPORTS_PER_DAY:
            raise TooManyReports(f"at most {SELF_REPORTS_PER_DAY} reports a day")
    codes = tuple(code for code in SYMPTOMS if code in given)
    window = report_window(at, policy)
    report = MonitoringReport(
        order_id=order.id,
        day=day,
        window=window,
        reported_at=at.astimezone(UTC),
        temperature=float(temperature),
        symptoms=" ".join(codes),
        channel=channel,
        entered_by=entered_by[:64],
        note=(note or "").strip()[:200] or None,
    )
    session.add(report)
    session.flush()
    reason = alert_reason(report.temperature, codes, policy)
    if reason is None:
        return Recorded(report, None, None)
    return Recorded(report, reason, _refer(session, order, report, reason, now or at))


def _refer(
    session: Session, order: QuarantineOrder, report: MonitoringReport, reason: str, now: datetime
) -> MonitoringTask:
    """The referral of the report's window: new, or the existing one. A closed one is
    reopened with the new report: an alert is never swallowed by an earlier one's outcome."""
    key = (order.id, "referral", report.day, report.window or "")
    existing = session.scalar(
        select(MonitoringTask).where(
            MonitoringTask.order_id == key[0],
            MonitoringTask.kind == key[1],
            MonitoringTask.day == key[2],
            MonitoringTask.window == key[3],
        )
    )
    if existing is None:
        _insert_tasks(
            session,
            [
                _task_row(
                    order,
                    kind="referral",
                    day=report.day,
                    window=report.window or "",
                    reason=reason,
                    now=now,
                    report_id=report.id,
                )
            ],
        )
        existing = session.scalars(
            select(MonitoringTask).where(
                MonitoringTask.order_id == key[0],
                MonitoringTask.kind == key[1],
                MonitoringTask.day == key[2],
                MonitoringTask.window == key[3],
            )
        ).one()
    elif existing.status == "done":
        existing.status = "open"
        existing.report_id = report.id
        existing.reason = reason
        existing.done_at = existing.done_by = None
        existing.outcome = None
    return existing


# ---------------------------------------------------------------- the alert run


@dataclass(frozen=True)
class NewTask:
    order_id: int
    order_no: str
    kind: str
    window: str
    reason: str
    community_id: int | None


@dataclass(frozen=True)
class AlertRun:
    day: date
    checked: int  # orders under monitoring that day
    referrals: int
    follow_ups: int
    closed_windows: tuple[str, ...]
    created: tuple[NewTask, ...] = field(default=())


def run_alerts(
    session: Session, *, day: date, now: datetime, policy: Policy, scope: Jurisdiction
) -> AlertRun:
    """Raise the day's missing tasks inside ``scope``: a follow-up for every window that
    closed by ``now`` without a report of an order under monitoring, a referral for every
    alerting report without one. Set-based (a handful of queries) and idempotent."""
    monitored = quarantine.monitored_orders(session, day=day, scope=scope)
    visible = visible_order_ids(scope).scalar_subquery()
    closes = {
        name: window_bounds(day, name, policy)[1] for name in policy.quarantine.report_windows
    }
    closed = [(name, at) for name, at in closes.items() if at <= now]
    rows: list[dict[str, Any]] = []
    created: list[NewTask] = []
    if closed and monitored:
        names = [name for name, _ in closed]
        # Plain tuples: sets of rows compare by Row.__eq__, several times slower.
        reported = {
            (order_id, window)
            for order_id, window in session.execute(
                select(MonitoringReport.order_id, MonitoringReport.window)
                .where(
                    MonitoringReport.day == day,
                    MonitoringReport.window.in_(names),
                    MonitoringReport.order_id.in_(visible),
                )
                .distinct()
            )
        }
        asked = {
            (order_id, window)
            for order_id, window in session.execute(
                select(MonitoringTask.order_id, MonitoringTask.window).where(
                    MonitoringTask.day == day,
                    MonitoringTask.kind == "follow_up",
                    task_conditions(scope),
                )
            )
        }
        reasons = {name: follow_up_reason(name, policy) for name in names}
        for order in monitored:
            for name, closing in closed:
                key = (order.id, name)
                # A window that closed before the order existed was not the person's to keep.
                if key in reported or key in asked or order.created_at >= closing:
                    continue
                rows.append(
                    _task_row(
                        order,
                        kind="follow_up",
                        day=day,
                        window=name,
                        reason=reasons[name],
                        now=now,
                    )
                )
                created.append(
                    NewTask(
                        order.id,
                        order.order_no,
                        "follow_up",
                        name,
                        reasons[name],
                        order.community_id,
                    )
                )
    follow_ups = len(rows)
    r, t = MonitoringReport, MonitoringTask
    alerting = session.execute(
        select(r.id, r.order_id, r.window, r.temperature, r.symptoms)
        .outerjoin(
            t,
            and_(
                t.order_id == r.order_id,
                t.kind == "referral",
                t.day == r.day,
                t.window == func.coalesce(r.window, ""),
            ),
        )
        .where(r.day == day, t.id.is_(None), _alert_condition(policy), r.order_id.in_(visible))
        .order_by(r.id)
    ).all()
    places: dict[int, quarantine.MonitoredOrder] = {o.id: o for o in monitored}
    missing = {report.order_id for report in alerting} - places.keys()
    places.update(quarantine.order_places(session, missing))
    seen: set[tuple[int, str]] = set()
    for report in alerting:
        window = report.window or ""
        reason = alert_reason(report.temperature, symptom_codes(report.symptoms), policy)
        if reason is None or (report.order_id, window) in seen:
            continue  # one referral per window: the first alerting report's
        seen.add((report.order_id, window))
        place = places[report.order_id]
        rows.append(
            _task_row(
                place,
                kind="referral",
                day=day,
                window=window,
                reason=reason,
                now=now,
                report_id=report.id,
            )
        )
        created.append(
            NewTask(report.order_id, place.order_no, "referral", window, reason, place.community_id)
        )
    for batch in range(0, len(rows), 5000):
        _insert_tasks(session, rows[batch : batch + 5000])
    return AlertRun(
        day=day,
        checked=len(monitored),
        referrals=len(rows) - follow_ups,
        follow_ups=follow_ups,
        closed_windows=tuple(name for name, _ in closed),
        created=tuple(created),
    )


@dataclass(frozen=True)
class SelfView:
    """What a self-report link shows its holder: little, and nothing of anyone else."""

    name: str | None  # masked
    day: date
    monitored: bool
    windows: tuple[WindowView, ...]
    last_temperature: float | None


def self_view(
    session: Session, *, order: QuarantineOrder, now: datetime, policy: Policy
) -> SelfView:
    day = now.astimezone(LOCAL_TZ).date()
    person = people_service.persons_by_id(session, [order.person_id]).get(order.person_id)
    mine = reports_on(session, order_id=order.id, day=day)
    return SelfView(
        name=mask_name(person.name) if person else None,
        day=day,
        monitored=monitored_on(order, day),
        windows=windows_of(mine, day=day, now=now, policy=policy),
        last_temperature=mine[-1].temperature if mine else None,
    )


def revoke_links(session: Session, *, order_id: int, now: datetime) -> int:
    """End the order's live self-report links (its person became a case, or a new link
    replaces them); how many there were."""
    result = session.execute(
        update(MonitoringLink)
        .where(MonitoringLink.order_id == order_id, MonitoringLink.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def open_task_count(session: Session, *, scope: Jurisdiction) -> int:
    """Open alert tasks inside ``scope`` (the boards' "alerts to act on")."""
    count = session.scalar(
        select(func.count(MonitoringTask.id)).where(
            task_conditions(scope), MonitoringTask.status == "open"
        )
    )
    return int(count or 0)
