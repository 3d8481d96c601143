"""What several API routers share: running an import with its audit entry, bounded ids and
pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Path, Query, UploadFile
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.principal import Principal
from fangkong.clock import Clock
from fangkong.errors import FangkongError
from fangkong.tabular import ImportReport

T = TypeVar("T")


def audited_import(
    run: Callable[..., ImportReport],
    kind: str,
    file: UploadFile,
    session: Session,
    clock: Clock,
    principal: Principal,
) -> ImportReport:
    """Run a registry importer on an upload in the caller's jurisdiction, audited (see
    ``audited``)."""
    filename = file.filename or "upload.csv"
    now = clock.now()
    return audited(
        lambda: run(
            session,
            data=file.file.read(),
            filename=filename,
            now=now,
            scope=principal.jurisdiction,
        ),
        kind=kind,
        filename=filename,
        session=session,
        now=now,
        principal=principal,
        counts=lambda r: {"added": r.added, "updated": r.updated, "unchanged": r.unchanged},
    )


def audited(
    run: Callable[[], T],
    *,
    kind: str,
    filename: str,
    session: Session,
    now: datetime,
    principal: Principal,
    counts: Callable[[T], dict[str, int]],
) -> T:
    """Run an import and record the attempt at ``now``: its ``counts``, or that it was
    rejected (that entry is committed although the request fails)."""
    try:
        report = run()
    except FangkongError as exc:
        # A rejected or unreadable file wrote nothing (savepoint); the attempt is kept
        # although the request fails, so it is committed here, before the request's
        # session rolls back.
        session.rollback()
        rejected = exc.details.get("report", {}).get("rejected", 0)
        audit.record_import(
            session,
            principal=principal,
            kind=kind,
            filename=filename,
            now=now,
            counts={"rejected": int(rejected)},
            rejected=True,
        )
        session.commit()
        raise
    audit.record_import(
        session, principal=principal, kind=kind, filename=filename, now=now, counts=counts(report)
    )
    return report


# A row id in a path or a query: bounded to the databases' 32-bit integer keys, so that an
# absurd number is a 422, not a database error.
MAX_ROW_ID = 2**31 - 1
RowIdQuery = Annotated[int, Query(ge=1, le=MAX_ROW_ID)]
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# A page of a list: at most 500 rows at a time.
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
