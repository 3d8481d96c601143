"""What several API routers share: running an import with its audit entry, bounded ids,
pages and days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request, UploadFile
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.principal import Principal
from fangkong.cases import service as cases
from fangkong.clock import Clock, today
from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import FangkongError, InvalidInput
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
# Where a page starts: bounded like a row id, so that an absurd offset is a 422, not an
# integer the database cannot take.
MAX_OFFSET = MAX_ROW_ID
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


# Days a request may name: from before the store's first day with data (or from well before
# any outbreak the platform holds) to a little after today (a plan for tomorrow). A day
# outside means nothing for the data and is refused, rather than worked through.
EARLIEST = date(2020, 1, 1)
AHEAD = timedelta(days=31)
BEFORE_DATA = timedelta(days=366)


class DayOutOfRange(InvalidInput):
    code = "day_out_of_range"


@dataclass(frozen=True)
class DayRange:
    """The days a request may name (``day_range``)."""

    first: date
    last: date

    def check(self, value: date | None, name: str) -> date | None:
        """``value`` if inside the range (or None); ``DayOutOfRange`` (422) if not."""
        if value is not None and not self.first <= value <= self.last:
            raise DayOutOfRange(
                f"{name} {value.isoformat()} is outside the days the data can mean "
                f"({self.first.isoformat()} to {self.last.isoformat()})",
                field=name,
                value=value.isoformat(),
                first=self.first.isoformat(),
                last=self.last.isoformat(),
            )
        return value

    def check_span(self, first: date, last: date, most: int) -> None:
        """``first`` to ``last`` inside the range, in order, at most ``most`` days long."""
        self.check(first, "first")
        self.check(last, "last")
        if first > last or (last - first).days >= most:
            raise DayOutOfRange(
                f"first {first.isoformat()} to last {last.isoformat()}: at most {most} days, "
                "first not after last",
                field="first",
                first=first.isoformat(),
                last=last.isoformat(),
            )


def day_range(session: SessionDep, clock: ClockDep) -> DayRange:
    """The days a request may name: ``EARLIEST`` or a year before the store's first day
    with data, whichever is earlier, to ``AHEAD`` after today."""
    first = cases.store_first_day(session)
    floor = EARLIEST if first is None else min(EARLIEST, first - BEFORE_DATA)
    return DayRange(floor, today(clock) + AHEAD)


Days = Annotated[DayRange, Depends(day_range)]

DAY_PARAMETERS = ("day", "start", "end", "since", "until", "first", "last", "on")


def bounded_query_days(request: Request, days: Days) -> None:
    """A router-wide guard: every day-named query parameter inside ``days`` (a malformed
    one is left to the endpoint's own validation)."""
    for name in DAY_PARAMETERS:
        for raw in request.query_params.getlist(name):
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                continue
            days.check(value, name)
