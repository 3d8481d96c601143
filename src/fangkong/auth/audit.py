"""The append-only audit log: writing, reading, exporting; never editing.

Every read of unmasked personal data, every export and every import is recorded here
(who, when, what record, which fields, from where, why). The ORM refuses to update or
delete an ``AuditEvent`` at flush, and no API, page or command offers either.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from fangkong.auth.models import AuditEvent
from fangkong.auth.principal import Principal
from fangkong.errors import FangkongError
from fangkong.tabular import SafeWriter


class AuditLogIsAppendOnly(FangkongError):
    code = "audit_append_only"
    status = 405


@event.listens_for(Session, "before_flush")
def _refuse_edits(session: Session, _context: object, _instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("the audit log is append-only")


def record(
    session: Session,
    *,
    principal: Principal | None,
    action: str,
    now: datetime,
    entity_type: str | None = None,
    entity_id: str | None = None,
    fields: Iterable[str] = (),
    reason: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
    ip: str | None = None,
) -> AuditEvent:
    entry = AuditEvent(
        at=now,
        actor=actor or (principal.name if principal else "system"),
        actor_kind=principal.kind if principal else "system",
        role=principal.role if principal else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        fields=",".join(fields) or None,
        ip=ip or (principal.ip if principal else None),
        reason=reason,
        outcome=outcome,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
    )
    session.add(entry)
    return entry


def record_import(
    session: Session,
    *,
    principal: Principal | None,
    kind: str,
    filename: str,
    now: datetime,
    counts: dict[str, int],
    rejected: bool = False,
    actor: str | None = None,
) -> AuditEvent:
    """An import attempt: the file, what it did, or that it was rejected."""
    return record(
        session,
        principal=principal,
        actor=actor,
        action="import",
        now=now,
        entity_type=kind,
        entity_id=filename[:64],
        outcome="rejected" if rejected else "ok",
        detail=counts,
    )


def record_pii_read(
    session: Session,
    *,
    principal: Principal,
    entity_type: str,
    entity_id: str,
    fields: Iterable[str],
    now: datetime,
) -> AuditEvent:
    """A look at unmasked personal data of one record."""
    return record(
        session,
        principal=principal,
        action="read_pii",
        now=now,
        entity_type=entity_type,
        entity_id=entity_id,
        fields=fields,
    )


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(flt: AuditFilter) -> list[Any]:
    conds: list[Any] = []
    if flt.actor:
        conds.append(AuditEvent.actor == flt.actor)
    if flt.action:
        conds.append(AuditEvent.action == flt.action)
    if flt.entity_type:
        conds.append(AuditEvent.entity_type == flt.entity_type)
    if flt.entity_id:
        conds.append(AuditEvent.entity_id == flt.entity_id)
    if flt.since:
        conds.append(AuditEvent.at >= flt.since)
    if flt.until:
        conds.append(AuditEvent.at < flt.until)
    return conds


def list_events(
    session: Session, *, flt: AuditFilter, limit: int = 100, offset: int = 0
) -> tuple[list[AuditEvent], int]:
    conds = _conditions(flt)
    total = session.scalar(select(func.count(AuditEvent.id)).where(*conds)) or 0
    items = session.scalars(
        select(AuditEvent)
        .where(*conds)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(items), int(total)


COLUMNS = (
    "id",
    "at",
    "actor",
    "actor_kind",
    "role",
    "action",
    "entity_type",
    "entity_id",
    "fields",
    "ip",
    "reason",
    "outcome",
    "detail",
)


def export_csv(session: Session, *, flt: AuditFilter) -> str:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(COLUMNS)
    query = select(AuditEvent).where(*_conditions(flt)).order_by(AuditEvent.id)
    for entry in session.scalars(query):
        writer.writerow(
            [getattr(entry, c).isoformat() if c == "at" else getattr(entry, c) for c in COLUMNS]
        )
    return out.getvalue()
