"""Home health monitoring (居家健康监测, RULES §3): temperature reports morning and evening,
the alerts they raise, and the community's daily worklist.

A fever (≥ ``policy.quarantine.fever_celsius``) or a listed symptom raises a ``referral`` task
(to a fever clinic) as soon as it is reported; a report window that closes without a report
raises a ``follow_up`` task for the household's 五包一 team when the alert run passes. Tasks
are unique per order, kind, day and window, so every step can be repeated safely.

An order is under home monitoring on a day when it is ``in_home_monitoring``, or
``in_quarantine`` in a home stage (home isolation, home monitoring, rehabilitation) that day.
Functions take the session and keywords and never commit; every query is cut to ``scope``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.clock import LOCAL_TZ
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people.masking import mask_name, mask_phone
from fangkong.people.models import Building, Community, Compound, Household, Person
from fangkong.people.service import covers
from fangkong.policy import Policy
from fangkong.quarantine import stages
from fangkong.quarantine.models import MonitoringReport, MonitoringTask, QuarantineOrder
from fangkong.quarantine.orders import OrderStatus
from fangkong.quarantine.schedule import (
    SYMPTOMS,
    alerting_symptoms,
    is_fever,
    report_window,
    symptom_labels,
)
from fangkong.quarantine.scope import order_conditions, order_visible, task_conditions

# Stages spent at home, followed by the community.
MONITORED_STAGES = frozenset({"home_isolation", "home_monitoring", "rehabilitation"})
CHANNELS = {"self": "本人自报", "phone": "电话询问", "visit": "入户测温"}
TASK_KINDS = {"referral": "发热/症状转诊", "follow_up": "漏报跟进"}
TASK_STATUSES = ("open", "done")
WINDOW_LABELS = {"morning": "早", "evening": "晚"}
STATE_LABELS = {"reported": "已报", "missed": "漏报", "open": "待报", "not_yet": "未到时间"}
MIN_CELSIUS, MAX_CELSIUS = 34.0, 43.0
# A link is one person's; more reports than this a day is a stuck button or abuse.
SELF_REPORTS_PER_DAY = 12
# Reports a few minutes ahead of the server's clock are the phone's clock, not the future.
CLOCK_SKEW = timedelta(minutes=5)
AnyRow = Row[*tuple[Any, ...]]
_CANDIDATES = (OrderStatus.in_home_monitoring.value, OrderStatus.in_quarantine.value)


class NotUnderMonitoring(Conflict):
    code = "not_under_monitoring"


class TaskClosed(Conflict):
    code = "task_closed"


class TooManyReports(InvalidInput):
    code = "too_many_reports"
    status = 429


# ---------------------------------------------------------------- rules


def window_label(name: str) -> str:
    return WINDOW_LABELS.get(name, name)


def window_bounds(day: date, name: str, policy: Policy) -> tuple[datetime, datetime]:
    """The instants a report window of a local day opens and closes."""
    window = policy.quarantine.report_windows[name]
    return (
        datetime.combine(day, window.opens, tzinfo=LOCAL_TZ),
        datetime.combine(day, window.closes, tzinfo=LOCAL_TZ),
    )


def window_state(day: date, name: str, *, reported: bool, now: datetime, policy: Policy) -> str:
    """reported / missed (closed without a report) / open (now) / not_yet."""
    opens, closes = window_bounds(day, name, policy)
    if reported:
        return "reported"
    if now >= closes:
        return "missed"
    return "open" if now >= opens else "not_yet"


def end_of_day(day: date) -> datetime:
    """Local midnight after ``day``, in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


@lru_cache(maxsize=4096)
def _stage_kind(text: str, person_kind: str, start_on: date, day: date) -> str | None:
    # Orders made the same day for the same kind share their stages' text: parsing is
    # cached by it, so a city's worth of orders costs a few hundred parses.
    order = QuarantineOrder(stages=text, person_kind=person_kind, start_on=start_on, rule="")
    stage = stages.load(order).stage_on(day)
    return stage.kind if stage else None


def monitored_on(order: QuarantineOrder, day: date) -> bool:
    """Whether ``order`` is under home monitoring on ``day``."""
    return _monitored(order.status, order.stages, order.person_kind, order.start_on, day)


def _monitored(status: str, text: str, person_kind: str, start_on: date, day: date) -> bool:
    if day < start_on:
        return False
    if status == OrderStatus.in_home_monitoring.value:
        return True
    if status != OrderStatus.in_quarantine.value:
        return False
    return _stage_kind(text, person_kind, start_on, day) in MONITORED_STAGES


def last_home_day(order: QuarantineOrder) -> date | None:
    """The last day of the order's last home stage, if it has one."""
    days = [s.last_day for s in stages.load(order).stages if s.kind in MONITORED_STAGES]
    return max(days) if days else None


def symptom_codes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def alert_reason(temperature: float, codes: Sequence[str], policy: Policy) -> str | None:
    """Why a report alerts, naming the rules, or None when it does not."""
    q = policy.quarantine
    parts: list[str] = []
    rules: list[str] = []
    if is_fever(temperature, policy):
        parts.append(f"体温 {temperature:.1f}℃（≥{q.fever_celsius:.1f}℃）")
        rules.append(str(policy.rule("quarantine.fever_celsius")))
    found = [c for c in alerting_symptoms(codes, policy) if c != "fever" or not parts]
    if found:
        parts.append("症状：" + "、".join(symptom_labels(found)))
        rules.append(str(policy.rule("quarantine.symptoms")))
    if not parts:
        return None
    return f"{'；'.join(parts)}，请转诊发热门诊（{'、'.join(rules)}）"[:200]


def follow_up_reason(name: str, policy: Policy) -> str:
    window = policy.quarantine.report_windows[name]
    return (
        f"{window_label(name)}间体温未上报（{window.opens:%H:%M}—{window.closes:%H:%M}），"
        f"请五包一人员电话或上门核实（{policy.rule('quarantine.report_windows')}）"
    )


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


@dataclass(frozen=True)
class _Place:
    """Where an order's person lives: a task is the community's of the person's home."""

    id: int
    district_code: str | None
    street_code: str | None
    community_id: int | None


def _task_row(
    order: _Place | QuarantineOrder | AnyRow,
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
    order = session.scalar(
        select(QuarantineOrder).where(QuarantineOrder.order_no == order_no, order_conditions(scope))
    )
    if order is None or not order_visible(scope, order):
        raise NotFound(f"no quarantine order {order_no!r}", order_no=order_no)
    return order


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
            f"a temperature lies between {MIN_CELSIUS:.0f} and {MAX_CELSIUS:.0f} ℃",
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


def _monitored_rows(
    session: Session, *, day: date, where: Sequence[ColumnElement[bool]]
) -> list[AnyRow]:
    """(id, created_at, district, street, community) of the orders under monitoring on
    ``day``: two queries (in home monitoring; in quarantine with their stages to check)."""
    o = QuarantineOrder
    place = (o.id, o.created_at, o.district_code, o.street_code, o.community_id)
    home = session.execute(
        select(*place).where(
            o.status == OrderStatus.in_home_monitoring.value, o.start_on <= day, *where
        )
    ).all()
    staged = session.execute(
        select(*place, o.stages, o.person_kind, o.start_on).where(
            o.status == OrderStatus.in_quarantine.value,
            o.start_on <= day,
            o.planned_end >= day,
            *where,
        )
    ).all()
    kept = [
        r
        for r in staged
        if _stage_kind(r.stages, r.person_kind, r.start_on, day) in MONITORED_STAGES
    ]
    return [*home, *kept]


def run_alerts(
    session: Session, *, day: date, now: datetime, policy: Policy, scope: Jurisdiction
) -> AlertRun:
    """Raise the day's missing tasks inside ``scope``: a follow-up for every window that
    closed by ``now`` without a report of an order under monitoring, a referral for every
    alerting report without one. Set-based (a handful of queries) and idempotent."""
    where = [order_conditions(scope)]
    monitored = _monitored_rows(session, day=day, where=where)
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
                .join(QuarantineOrder, QuarantineOrder.id == MonitoringReport.order_id)
                .where(MonitoringReport.day == day, MonitoringReport.window.in_(names), *where)
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
                    NewTask(order.id, "follow_up", name, reasons[name], order.community_id)
                )
    follow_ups = len(rows)
    r, o, t = MonitoringReport, QuarantineOrder, MonitoringTask
    alerting = session.execute(
        select(
            r.id,
            r.order_id,
            r.window,
            r.temperature,
            r.symptoms,
            o.district_code,
            o.street_code,
            o.community_id,
        )
        .join(o, o.id == r.order_id)
        .outerjoin(
            t,
            and_(
                t.order_id == r.order_id,
                t.kind == "referral",
                t.day == r.day,
                t.window == func.coalesce(r.window, ""),
            ),
        )
        .where(r.day == day, t.id.is_(None), _alert_condition(policy), *where)
        .order_by(r.id)
    ).all()
    seen: set[tuple[int, str]] = set()
    for report in alerting:
        window = report.window or ""
        reason = alert_reason(report.temperature, symptom_codes(report.symptoms), policy)
        if reason is None or (report.order_id, window) in seen:
            continue  # one referral per window: the first alerting report's
        seen.add((report.order_id, window))
        place = _Place(
            report.order_id, report.district_code, report.street_code, report.community_id
        )
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
        created.append(NewTask(report.order_id, "referral", window, reason, report.community_id))
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


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class TaskRow:
    id: int
    order_no: str
    person_no: str
    name: str | None  # masked
    kind: str
    day: date
    window: str
    reason: str
    status: str
    community_id: int | None
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    outcome: str | None


def _task_row_of(t: MonitoringTask, order_no: str, person_no: str, name: str | None) -> TaskRow:
    return TaskRow(
        id=t.id,
        order_no=order_no,
        person_no=person_no,
        name=mask_name(name),
        kind=t.kind,
        day=t.day,
        window=t.window,
        reason=t.reason,
        status=t.status,
        community_id=t.community_id,
        created_at=t.created_at,
        done_at=t.done_at,
        done_by=t.done_by,
        outcome=t.outcome,
    )


def _task_rows(rows: Iterable[AnyRow]) -> list[TaskRow]:
    return [_task_row_of(t, order_no, person_no, name) for t, order_no, person_no, name in rows]


def task_read(session: Session, *, task: MonitoringTask) -> TaskRow:
    """One task as the lists show it."""
    order_no, person_no, name = session.execute(
        select(QuarantineOrder.order_no, Person.person_no, Person.name)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(QuarantineOrder.id == task.order_id)
    ).one()
    return _task_row_of(task, order_no, person_no, name)


def tasks(
    session: Session,
    *,
    scope: Jurisdiction,
    day: date | None = None,
    kind: str | None = None,
    status: str | None = None,
    community_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[TaskRow], int]:
    """Tasks inside ``scope`` (names masked), newest day first, open before done; with
    the total matching."""
    if kind is not None and kind not in TASK_KINDS:
        raise InvalidInput(f"unknown task kind {kind!r}", field="kind", known=list(TASK_KINDS))
    if status is not None and status not in TASK_STATUSES:
        raise InvalidInput(f"unknown task status {status!r}", field="status")
    t = MonitoringTask
    conds: list[ColumnElement[bool]] = [task_conditions(scope)]
    if day is not None:
        conds.append(t.day == day)
    if kind is not None:
        conds.append(t.kind == kind)
    if status is not None:
        conds.append(t.status == status)
    if community_id is not None:
        conds.append(t.community_id == community_id)
    total = session.scalar(select(func.count(t.id)).where(*conds)) or 0
    rows = session.execute(
        select(t, QuarantineOrder.order_no, Person.person_no, Person.name)
        .join(QuarantineOrder, QuarantineOrder.id == t.order_id)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(*conds)
        .order_by(t.day.desc(), t.status.desc(), t.kind, t.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return _task_rows(rows), int(total)


def get_task(session: Session, *, task_id: int, scope: Jurisdiction) -> MonitoringTask:
    task = session.scalar(
        select(MonitoringTask).where(MonitoringTask.id == task_id, task_conditions(scope))
    )
    if task is None:
        raise NotFound(f"no monitoring task {task_id}", task_id=task_id)
    return task


def close_task(
    session: Session, *, task: MonitoringTask, by: str, outcome: str, now: datetime
) -> MonitoringTask:
    """Mark a task done with what was done (转诊结果, 已联系 …)."""
    text = outcome.strip()
    if not text:
        raise InvalidInput("say what was done", field="outcome")
    if task.status == "done":
        raise TaskClosed(f"task {task.id} is already done", task_id=task.id)
    task.status = "done"
    task.done_at = now
    task.done_by = by[:64]
    task.outcome = text[:200]
    session.flush()
    return task


# ---------------------------------------------------------------- the worklist


@dataclass(frozen=True)
class WindowView:
    name: str
    label: str
    opens: time
    closes: time
    state: str  # reported / missed / open / not_yet
    temperature: float | None = None
    alert: bool = False
    reported_at: datetime | None = None
    channel: str | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


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


def windows_of(
    reports: Sequence[MonitoringReport] | Sequence[AnyRow],
    *,
    day: date,
    now: datetime,
    policy: Policy,
) -> tuple[WindowView, ...]:
    """Each report window of ``day`` with its state and latest report (reports in order)."""
    views = []
    for name, window in policy.quarantine.report_windows.items():
        inside = [r for r in reports if r.window == name]
        last = inside[-1] if inside else None
        views.append(
            WindowView(
                name=name,
                label=window_label(name),
                opens=window.opens,
                closes=window.closes,
                state=window_state(day, name, reported=bool(inside), now=now, policy=policy),
                temperature=last.temperature if last else None,
                alert=any(_alerts(r, policy) for r in inside),
                reported_at=last.reported_at if last else None,
                channel=last.channel if last else None,
            )
        )
    return tuple(views)


def _alerts(report: MonitoringReport | AnyRow, policy: Policy) -> bool:
    codes = symptom_codes(report.symptoms)
    return alert_reason(report.temperature, codes, policy) is not None


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
            o.status.in_(_CANDIDATES),
            o.start_on <= day,
            order_conditions(scope),
        )
    ).all()
    orders = [
        c for c in candidates if _monitored(c.status, c.stages, c.person_kind, c.start_on, day)
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
    for task in _task_rows(open_rows):
        open_tasks[task.order_no].append(task)

    members: dict[str, list[Member]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for c in orders:
        mine = by_order.get(c.id, [])
        views = windows_of(mine, day=day, now=now, policy=policy)
        for view in views:
            counts[f"{view.name}_{view.state}"] += 1
        alert = any(_alerts(r, policy) for r in mine)
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
    person = session.get(Person, order.person_id)
    mine = reports_on(session, order_id=order.id, day=day)
    return SelfView(
        name=mask_name(person.name) if person else None,
        day=day,
        monitored=monitored_on(order, day),
        windows=windows_of(mine, day=day, now=now, policy=policy),
        last_temperature=mine[-1].temperature if mine else None,
    )


def self_message(*, alert: bool, window: str | None) -> str:
    """What the person reads after a report."""
    if alert:
        return (
            "已收到。您的体温或症状需要就医：请留在家中、不要外出，"
            "社区工作人员将很快联系您，安排转诊发热门诊。"
        )
    if window is None:
        return "已收到。现在不在早、晚上报时段内，请在规定时段内再报一次。"
    return f"已收到{window_label(window)}间体温，谢谢配合。"
