"""Home health monitoring's rules (RULES §3), pure: report windows, fever and the symptoms
to report at once, why a report alerts, what a window's state is, what the person reads.

Every number comes from ``policy.quarantine`` (the edition's fever threshold, its symptoms,
its morning and evening windows); every alert names the rule behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from fangkong.clock import LOCAL_TZ
from fangkong.errors import InvalidInput
from fangkong.policy import Policy

SYMPTOMS: dict[str, str] = {
    "fever": "发热",
    "dry_cough": "干咳",
    "fatigue": "乏力",
    "sore_throat": "咽痛",
    "loss_of_smell_or_taste": "嗅（味）觉减退",
    "diarrhoea": "腹泻",
}

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


class ReportLike(Protocol):
    """A report as stored or as a row of a set-based query."""

    @property
    def window(self) -> str | None: ...
    @property
    def temperature(self) -> float: ...
    @property
    def symptoms(self) -> str: ...
    @property
    def reported_at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...


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


def is_fever(celsius: float, policy: Policy) -> bool:
    return celsius >= policy.quarantine.fever_celsius


def alerting_symptoms(codes: Iterable[str], policy: Policy) -> tuple[str, ...]:
    """The reported symptoms the edition says to report at once, in the edition's order.

    An unknown code is refused rather than dropped: a typo must not hide a symptom."""
    given = set(codes)
    unknown = sorted(given - SYMPTOMS.keys())
    if unknown:
        raise InvalidInput(f"unknown symptom codes: {', '.join(unknown)}", codes=unknown)
    return tuple(code for code in policy.quarantine.symptoms if code in given)


def symptom_labels(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(SYMPTOMS[code] for code in codes)


def report_window(at: datetime, policy: Policy) -> str | None:
    """The name of the temperature-report window (morning / evening) ``at`` falls in, by
    local time; None outside every window. A window includes its opening minute, not its
    closing one."""
    if at.tzinfo is None:
        raise InvalidInput("a report time must carry its time zone", at=at.isoformat())
    local = at.astimezone(LOCAL_TZ).time()
    for name, window in policy.quarantine.report_windows.items():
        if window.opens <= local < window.closes:
            return name
    return None


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


def report_alerts(report: ReportLike, policy: Policy) -> bool:
    codes = symptom_codes(report.symptoms)
    return alert_reason(report.temperature, codes, policy) is not None


def windows_of(
    reports: Sequence[ReportLike],
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
