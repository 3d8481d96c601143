"""Venue-scan import from CSV or Parquet: streamed, validated, all or nothing, idempotent.

Columns ``person_id, venue_code, entered_at`` and optionally ``left_at``; timestamps in
ISO 8601, read as Asia/Shanghai time when they carry no offset. Rows are numbered as a
spreadsheet shows them (header = row 1) — for Parquet, the n-th row is row n + 1 likewise.

The file is read in chunks (a CSV block, a Parquet batch; ``lake/reading.py``), so that a
10 M-row file never sits in memory whole: each chunk is checked (empty fields, timestamps,
exit before entry, the venue and the person in the registry, looked up in bulk and
remembered across chunks) and staged as Parquet. Only when every row is good do the staged
chunks go into the lake (``lake.writer.write_scan_files``: deduplicated, atomic); otherwise
nothing is written and ``ImportRejected`` lists the errors (the first ``MAX_ERRORS``, and how
many more). A missing exit time is filled from the policy's stay for the venue's category
(``left_at_inferred``).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.lake import reading, staging
from fangkong.lake.layout import SCANS
from fangkong.lake.reading import BAD_TIME as _BAD_TIME
from fangkong.lake.reading import Progress as Progress
from fangkong.lake.reading import RowErrors as RowErrors
from fangkong.lake.reading import parse_timestamps as parse_timestamps
from fangkong.lake.reading import text as _text
from fangkong.lake.writer import write_scan_files
from fangkong.people import access, venues
from fangkong.people import service as people
from fangkong.policy.model import TracingPolicy
from fangkong.tabular import Column, ImportReport

COLUMNS = [
    Column("person_id", "人员编号", required=True, aliases=("person_no",)),
    Column("venue_code", "场所编码", required=True, aliases=("场所码",)),
    Column("entered_at", "进入时间", required=True, aliases=("扫码时间",)),
    Column("left_at", "离开时间"),
]
REQUIRED = [c.name for c in COLUMNS if c.required]
MAX_ERRORS = reading.MAX_ERRORS
BATCH_ROWS = reading.BATCH_ROWS  # Parquet rows per chunk
CSV_BLOCK_BYTES = reading.CSV_BLOCK_BYTES
_UTC = pa.timestamp("us", tz="UTC")


# ---------------------------------------------------------------------------- checking


class Registry:
    """Venues and persons of the registry, looked up in bulk and remembered."""

    def __init__(self, session: Session, scope: Jurisdiction, policy: TracingPolicy) -> None:
        self.session = session
        self.scope = scope
        self.policy = policy
        self.stay: dict[str, int] = {}  # known venue -> default stay (minutes)
        self.bad_venues: dict[str, str] = {}  # venue -> why it may not be used
        self.persons: set[str] = set()
        self.unknown_persons: set[str] = set()

    def _allowed(self, venue: Any) -> bool:
        if self.scope.kind == "venue":
            return bool(venue.venue_code == self.scope.code)
        return self.scope.is_area and access.venue_visible(self.scope, venue)

    def check_venues(self, codes: list[str]) -> None:
        new = [c for c in codes if c not in self.stay and c not in self.bad_venues]
        found = venues.venues_by_code(self.session, new)
        for code in new:
            venue = found.get(code)
            if venue is None:
                self.bad_venues[code] = f"unknown venue {code!r}: not in the registry"
            elif not self._allowed(venue):
                self.bad_venues[code] = f"venue {code!r} is outside your jurisdiction"
            else:
                self.stay[code] = self.policy.stay_for(venue.category)

    def check_persons(self, nos: list[str]) -> None:
        new = [n for n in nos if n not in self.persons and n not in self.unknown_persons]
        found = people.existing_person_nos(self.session, new)
        self.persons.update(found)
        self.unknown_persons.update(n for n in new if n not in found)


def check_chunk(
    table: pa.Table, first_row: int, registry: Registry, errors: RowErrors
) -> pa.Table | None:
    """The chunk as lake rows (``layout.SCANS``), or None when it has a bad row (each
    added to ``errors``)."""
    n = table.num_rows
    person = _text(table["person_id"])
    venue = _text(table["venue_code"])
    entered, bad_entered = parse_timestamps(table["entered_at"])
    if "left_at" in table.column_names:
        left, bad_left = parse_timestamps(table["left_at"])
        raw_left = table["left_at"]
    else:
        left, bad_left = pa.nulls(n, _UTC), pa.array([False] * n)
        raw_left = None
    empty_entered = pc.and_(entered.is_null(), pc.invert(bad_entered))

    registry.check_venues(pc.unique(venue.drop_null()).to_pylist())
    registry.check_persons(pc.unique(person.drop_null()).to_pylist())
    bad_venue_codes = pa.array(list(registry.bad_venues), type=pa.string())
    unknown_persons = pa.array(list(registry.unknown_persons), type=pa.string())
    bad_venue = pc.is_in(venue, value_set=bad_venue_codes)
    unknown_person = pc.is_in(person, value_set=unknown_persons)
    backwards = pc.fill_null(pc.less(left, entered), False)

    checks: list[reading.Check] = [
        (person.is_null(), "person_id", lambda _: "person_id is empty", None),
        (venue.is_null(), "venue_code", lambda _: "venue_code is empty", None),
        (empty_entered, "entered_at", lambda _: "entered_at is empty", None),
        (bad_entered, "entered_at", lambda _: _BAD_TIME, table["entered_at"]),
        (bad_left, "left_at", lambda _: _BAD_TIME, raw_left),
        (backwards, "left_at", lambda _: "left_at is before entered_at", None),
        (bad_venue, "venue_code", lambda i: registry.bad_venues[venue[i].as_py()], venue),
        (unknown_person, "person_id", lambda i: _UNKNOWN_PERSON.format(person[i].as_py()), person),
    ]
    if reading.report_checks(checks, first_row, errors):
        return None
    if errors:
        return None  # an earlier chunk failed: check, but do not convert
    codes = pa.array(list(registry.stay), type=pa.string())
    minutes = pa.array(list(registry.stay.values()), type=pa.int64())
    stay = pc.take(minutes, pc.index_in(venue, value_set=codes))
    default_left = pc.add(entered, pc.multiply(stay, 60_000_000).cast(pa.duration("us")))
    inferred = left.is_null()
    return pa.table(
        [person, venue, entered, pc.if_else(inferred, default_left, left), inferred],
        schema=SCANS,
    )


_UNKNOWN_PERSON = "unknown person {!r}: not in the registry"


# ---------------------------------------------------------------------------- importing


def import_scans(
    session: Session,
    *,
    data: bytes | Path,
    filename: str,
    now: datetime,
    scope: Jurisdiction,
    lake: Path,
    policy: TracingPolicy,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate the whole file, then write it to the lake; raise ``ImportRejected`` on any
    bad row. ``added`` counts new scans, ``unchanged`` the duplicates (of the lake or of
    the file itself). ``progress`` is called with the rows read so far."""
    errors = RowErrors(limit=MAX_ERRORS)
    registry = Registry(session, scope, policy)
    work = staging.new_folder(lake, "import-")
    try:
        staged: list[Path] = []
        rows = 0
        for number, chunk in enumerate(
            reading.chunks(
                data,
                filename,
                COLUMNS,
                errors,
                batch_rows=BATCH_ROWS,
                block_bytes=CSV_BLOCK_BYTES,
            )
        ):
            good = check_chunk(chunk.table, chunk.first_row, registry, errors)
            rows += chunk.table.num_rows
            if good is not None:
                path = work / f"chunk-{number:06d}.parquet"
                pq.write_table(good, path, compression="lz4")
                staged.append(path)
            if progress is not None:
                progress(rows)
        report = ImportReport()
        if errors:
            reading.reject(report, errors)
        written = write_scan_files(lake, staged, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.added = written.added
    report.unchanged = written.duplicates
    return report
