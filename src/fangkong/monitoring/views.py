"""What pages of other domains show of home monitoring: an order's reports and tasks, as
rows for the templates (the quarantine order page shows them under its timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import beijing_minute
from fangkong.errors import NotFound
from fangkong.monitoring.models import MonitoringReport, MonitoringTask
from fangkong.monitoring.rules import CHANNELS, SYMPTOMS, TASK_KINDS, WINDOW_LABELS
from fangkong.monitoring.service import get_order

TASK_STATUS_LABELS = {"open": "待处理", "done": "已办结"}


def symptoms_text(codes: str) -> str:
    return "、".join(SYMPTOMS.get(c, c) for c in codes.split() if c) or "无"


@dataclass(frozen=True)
class ReportLine:
    day: date
    window: str
    at: str
    temperature: str
    symptoms: str
    channel: str
    by: str
    note: str


@dataclass(frozen=True)
class TaskLine:
    day: date
    window: str
    kind: str
    reason: str
    status: str
    status_label: str
    outcome: str
    done: str
    done_by: str


def order_lines(session: Session, order_id: int) -> tuple[list[ReportLine], list[TaskLine]]:
    """An order's reports and tasks, oldest first, labelled in Chinese, Beijing time."""
    reports = session.scalars(
        select(MonitoringReport)
        .where(MonitoringReport.order_id == order_id)
        .order_by(MonitoringReport.reported_at, MonitoringReport.id)
    )
    tasks = session.scalars(
        select(MonitoringTask)
        .where(MonitoringTask.order_id == order_id)
        .order_by(MonitoringTask.day, MonitoringTask.id)
    )
    return [
        ReportLine(
            day=r.day,
            window=WINDOW_LABELS.get(r.window or "", "窗口外"),
            at=beijing_minute(r.reported_at),
            temperature=f"{r.temperature:.1f}",
            symptoms=symptoms_text(r.symptoms),
            channel=CHANNELS.get(r.channel, r.channel),
            by=r.entered_by,
            note=r.note or "",
        )
        for r in reports
    ], [
        TaskLine(
            day=t.day,
            window=WINDOW_LABELS.get(t.window, "全天"),
            kind=TASK_KINDS.get(t.kind, t.kind),
            reason=t.reason,
            status=t.status,
            status_label=TASK_STATUS_LABELS.get(t.status, t.status),
            outcome=t.outcome or "",
            done=beijing_minute(t.done_at),
            done_by=t.done_by or "",
        )
        for t in tasks
    ]


def person_reports(
    session: Session, *, order_nos: list[str], scope: Jurisdiction
) -> list[tuple[str, ReportLine]]:
    """The reports of a person's orders (those inside ``scope``), newest first, each with
    its order number (one person's record lists them together)."""
    lines: list[tuple[str, ReportLine]] = []
    for order_no in order_nos:
        try:
            order = get_order(session, order_no=order_no, scope=scope)
        except NotFound:
            continue
        reports, _ = order_lines(session, order.id)
        lines.extend((order_no, r) for r in reports)
    lines.sort(key=lambda pair: pair[1].at, reverse=True)
    return lines
