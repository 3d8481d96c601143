"""The tasks alerts raise (referral to a fever clinic, follow-up by the 五包一 team): listed
in the caller's area, read one by one, closed with what was done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    func,
    select,
)
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import InvalidInput, NotFound
from fangkong.monitoring.models import MonitoringTask
from fangkong.monitoring.rules import TASK_KINDS, TASK_STATUSES
from fangkong.monitoring.scope import task_conditions
from fangkong.monitoring.service import TaskClosed
from fangkong.people import service as people_service
from fangkong.people.masking import mask_name
from fangkong.quarantine import service as quarantine


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


def task_rows(session: Session, found: Sequence[MonitoringTask]) -> list[TaskRow]:
    """Tasks as the lists show them: with their order's number and the person, masked."""
    orders = quarantine.order_places(session, {t.order_id for t in found})
    persons = people_service.persons_by_id(session, {o.person_id for o in orders.values()})
    rows = []
    for t in found:
        order = orders[t.order_id]
        person = persons[order.person_id]
        rows.append(_task_row_of(t, order.order_no, person.person_no, person.name))
    return rows


def task_read(session: Session, *, task: MonitoringTask) -> TaskRow:
    """One task as the lists show it."""
    return task_rows(session, [task])[0]


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
    found = session.scalars(
        select(t)
        .where(*conds)
        .order_by(t.day.desc(), t.status.desc(), t.kind, t.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return task_rows(session, found), int(total)


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
