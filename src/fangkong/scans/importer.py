"""Venue-scan import from CSV or Parquet: streamed, validated, all or nothing, idempotent.

Columns ``person_id, venue_code, entered_at`` and optionally ``left_at``; timestamps in
ISO 8601, read as Asia/Shanghai time when they carry no offset. Rows are numbered as a
spreadsheet shows them (header = row 1) — for Parquet, the n-th row is row n + 1 likewise.

The file is read in chunks (a CSV block, a Parquet batch), so that a 10 M-row file never
sits in memory whole: each chunk is checked (empty fields, timestamps, exit before entry,
the venue and the person in the registry, looked up in bulk and remembered across chunks)
and staged as Parquet. Only when every row is good do the staged chunks go into the lake
(``lake.writer.write_scan_files``: deduplicated, atomic); otherwise nothing is written and
``ImportRejected`` lists the errors (the first ``MAX_ERRORS``, and how many more). A missing
exit time is filled from the policy's stay for the venue's category (``left_at_inferred``).
"""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import ImportRejected, InvalidInput
from fangkong.lake.layout import SCANS
from fangkong.lake.writer import LOCAL_TZ, write_scan_files
from fangkong.people import service as people
from fangkong.policy.model import TracingPolicy
from fangkong.tabular import Column, ImportReport, RowError, header_map

COLUMNS = [
    Column("person_id", "人员编号", required=True, aliases=("person_no",)),
    Column("venue_code", "场所编码", required=True, aliases=("场所码",)),
    Column("entered_at", "进入时间", required=True, aliases=("扫码时间",)),
    Column("left_at", "离开时间"),
]
REQUIRED = [c.name for c in COLUMNS if c.required]
MAX_ERRORS = 1000
BATCH_ROWS = 500_000  # Parquet rows per chunk
CSV_BLOCK_BYTES = 32 << 20  # ~500 k rows of a typical scan CSV
_OFFSET = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
_UTC = pa.timestamp("us", tz="UTC")
_SHANGHAI = ZoneInfo(LOCAL_TZ)

Progress = Callable[[int], None]


@dataclass
class _Chunk:
    table: pa.Table  # canonical column names
    first_row: int


@dataclass
class RowErrors:
    """Row errors up to MAX_ERRORS; the bad rows are counted in full."""

    listed: list[RowError] = field(default_factory=list)
    unlisted: int = 0
    bad_rows: int = 0

    def add(self, error: RowError) -> None:
        if len(self.listed) < MAX_ERRORS:
            self.listed.append(error)
        else:
            self.unlisted += 1

    def __bool__(self) -> bool:
        return bool(self.listed) or self.bad_rows > 0


# ---------------------------------------------------------------------------- reading


def _source(data: bytes | Path) -> Any:
    return str(data) if isinstance(data, Path) else pa.BufferReader(data)


def _head(data: bytes | Path, size: int = 1 << 16) -> bytes:
    if isinstance(data, Path):
        with data.open("rb") as handle:
            return handle.read(size)
    return data[:size]


def _encoding(head: bytes) -> str:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the sample's end
            return "gb18030"
    return "utf8"


def _map_header(titles: list[str], errors: RowErrors) -> list[str | None]:
    names = header_map(COLUMNS)
    mapped: list[str | None] = []
    for title in titles:
        name = names.get(title.strip().lstrip("\ufeff").lower())
        if name is not None and name in mapped:
            errors.add(RowError(1, name, "column appears twice in the header"))
        mapped.append(name)
    for col in COLUMNS:
        if col.required and col.name not in mapped:
            reason = f"required column missing (header {col.name} or {col.label})"
            errors.add(RowError(1, col.name, reason))
    return mapped


def _csv_chunks(data: bytes | Path, errors: RowErrors) -> Iterator[_Chunk]:
    head = _head(data)
    encoding = _encoding(head)
    text = head.decode("gb18030" if encoding != "utf8" else "utf-8", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        errors.add(RowError(1, None, "the file is empty: no header row"))
        return
    titles = next(csv.reader([first]))
    mapped = _map_header(titles, errors)
    if errors:
        return
    names = [m or f"_ignored_{i}" for i, m in enumerate(mapped)]
    wanted = [m for m in mapped if m is not None]
    malformed: list[str] = []

    def invalid(row: Any) -> str:
        malformed.append(f"expected {row.expected_columns} fields, found {row.actual_columns}")
        return "skip"

    try:
        reader = pacsv.open_csv(
            _source(data),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, encoding=encoding, block_size=CSV_BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                strings_can_be_null=False,
            ),
        )
        row = 2
        for batch in reader:
            # A malformed line is skipped by the parser; it is reported near where it was.
            for reason in malformed:
                errors.add(RowError(row, None, reason))
                errors.bad_rows += 1
                row += 1
            malformed.clear()
            yield _Chunk(pa.Table.from_batches([batch]), row)
            row += batch.num_rows
        for reason in malformed:
            errors.add(RowError(row, None, reason))
            errors.bad_rows += 1
            row += 1
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not a readable CSV file: {exc}") from exc


def _parquet_chunks(data: bytes | Path, errors: RowErrors) -> Iterator[_Chunk]:
    try:
        file = pq.ParquetFile(_source(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"not a readable Parquet file: {exc}") from exc
    titles = list(file.schema_arrow.names)
    mapped = _map_header(titles, errors)
    if errors:
        return
    columns = {title: name for title, name in zip(titles, mapped, strict=True) if name}
    row = 2
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=list(columns)):
        table = pa.Table.from_batches([batch]).rename_columns(
            [columns[n] for n in batch.schema.names]
        )
        yield _Chunk(table, row)
        row += batch.num_rows


def _chunks(data: bytes | Path, filename: str, errors: RowErrors) -> Iterator[_Chunk]:
    suffix = Path(filename).suffix.lower()
    if suffix in {".csv", ".txt"}:
        return _csv_chunks(data, errors)
    if suffix == ".parquet":
        return _parquet_chunks(data, errors)
    raise InvalidInput(f"{filename}: unsupported file type {suffix!r}; use .csv or .parquet")


# ---------------------------------------------------------------------------- checking


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Trimmed text, empty as null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def parse_timestamps(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """UTC timestamps and a mask of the unparseable values (empty values are null, not
    bad). Text without an offset, and naive Parquet timestamps, are Asia/Shanghai time."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column.cast(pa.timestamp("us")), LOCAL_TZ)
        return column.cast(_UTC), pa.array([False] * len(column))
    text = _text(column)
    aware = pc.match_substring_regex(text, _OFFSET)
    null = pa.scalar(None, pa.string())
    try:
        with_offset = pc.if_else(aware, text, null).cast(_UTC)
        local = pc.if_else(aware, null, text).cast(pa.timestamp("us"))
        local = pc.assume_timezone(local, LOCAL_TZ).cast(_UTC)
        return pc.if_else(aware, with_offset, local), pa.array([False] * len(text))
    except pa.ArrowInvalid:
        return _parse_slowly(text)


def _parse_slowly(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Value by value, to find which are bad (only when the fast cast failed)."""
    values: list[datetime | None] = []
    bad: list[bool] = []
    for raw in text.to_pylist():
        if raw is None:
            values.append(None)
            bad.append(False)
            continue
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            values.append(None)
            bad.append(True)
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_SHANGHAI)
        values.append(parsed)
        bad.append(False)
    return pa.array(values, type=_UTC), pa.array(bad)


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
        return self.scope.is_area and people.venue_visible(self.scope, venue)

    def check_venues(self, codes: list[str]) -> None:
        new = [c for c in codes if c not in self.stay and c not in self.bad_venues]
        found = people.venues_by_code(self.session, new)
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

    checks: list[tuple[pa.Array, str, Callable[[int], str], pa.Array | None]] = [
        (person.is_null(), "person_id", lambda _: "person_id is empty", None),
        (venue.is_null(), "venue_code", lambda _: "venue_code is empty", None),
        (empty_entered, "entered_at", lambda _: "entered_at is empty", None),
        (bad_entered, "entered_at", lambda _: _BAD_TIME, table["entered_at"]),
        (bad_left, "left_at", lambda _: _BAD_TIME, raw_left),
        (backwards, "left_at", lambda _: "left_at is before entered_at", None),
        (bad_venue, "venue_code", lambda i: registry.bad_venues[venue[i].as_py()], venue),
        (unknown_person, "person_id", lambda i: _UNKNOWN_PERSON.format(person[i].as_py()), person),
    ]
    any_bad = pa.array([False] * n)
    for mask, _, _, _ in checks:
        any_bad = pc.or_(any_bad, mask)
    bad_rows = pc.sum(any_bad.cast(pa.int64())).as_py() or 0
    if bad_rows:
        errors.bad_rows += bad_rows
        room = max(MAX_ERRORS - len(errors.listed), 0)
        found: list[RowError] = []
        total = 0
        for mask, column, reason, shown in checks:
            indices = pc.indices_nonzero(mask)
            total += len(indices)
            found.extend(
                RowError(first_row + i, column, reason(i), _value(shown, i))
                for i in indices[:room].to_pylist()
            )
        found.sort(key=lambda e: e.row)
        errors.listed.extend(found[:room])
        errors.unlisted += total - len(found[:room])
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
_BAD_TIME = "not an ISO 8601 date and time (e.g. 2022-03-22T08:30:00, +08:00 optional)"


def _value(shown: pa.ChunkedArray | pa.Array | None, index: int) -> str | None:
    if shown is None:
        return None
    value = shown[index].as_py()
    return None if value is None else str(value)


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
    errors = RowErrors()
    registry = Registry(session, scope, policy)
    work = lake / "_staging" / f"import-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        staged: list[Path] = []
        rows = 0
        for number, chunk in enumerate(_chunks(data, filename, errors)):
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
            _reject(report, errors)
        written = write_scan_files(lake, staged, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.added = written.added
    report.unchanged = written.duplicates
    return report


def _reject(report: ImportReport, errors: RowErrors) -> None:
    report.reject(errors.listed)
    report.rejected = max(errors.bad_rows, report.rejected)
    more = f"; {errors.unlisted} more error(s) not listed" if errors.unlisted else ""
    raise ImportRejected(
        f"{report.rejected} row(s) rejected; nothing was imported{more}",
        errors=[e.model_dump() for e in report.errors],
        report=report.model_dump(),
        unlisted=errors.unlisted,
    )
