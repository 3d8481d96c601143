"""Home health monitoring (居家健康监测, RULES §3): temperature reports morning and evening and
the alerts they raise (the tasks are ``monitoring_tasks``, the community's list ``worklist``).

A fever (≥ ``policy.quarantine.fever_celsius``) or a listed symptom raises a ``referral`` task
(to a fever clinic) as soon as it is reported; a report window that closes without a report
raises a ``follow_up`` task for the household's 五包一 team when the alert run passes. Tasks
are unique per order, kind, day and window, so every step can be repeated safely.

An order is under home monitoring on a day when it is ``in_home_monitoring``, or
``in_quarantine`` in a home stage (home isolation, home monitoring, rehabilitation) that day.
Functions take the session and keywords and never commit; every query is cut to ``scope``.
"""

from __future__ import annotations

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
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people.masking import mask_name
from fangkong.people.models import Person
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
MONITORED_STATUSES = (OrderStatus.in_home_monitoring.value, OrderStatus.in_quarantine.value)


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
    return monitored_stage(order.status, order.stages, order.person_kind, order.start_on, day)


def monitored_stage(status: str, text: str, person_kind: str, start_on: date, day: date) -> bool:
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


def report_alerts(report: MonitoringReport | AnyRow, policy: Policy) -> bool:
    codes = symptom_codes(report.symptoms)
    return alert_reason(report.temperature, codes, policy) is not None


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
                alert=any(report_alerts(r, policy) for r in inside),
                reported_at=last.reported_at if last else None,
                channel=last.channel if last else None,
            )
        )
    return tuple(views)


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
