"""Reading large CSV and Parquet files in chunks, for the lake's importers.

Shared by the venue-scan import (``scans/importer.py``) and the mass-testing imports
(``testing/samples.py``, ``testing/results.py``). A file is read a chunk at a time (a CSV
block, a Parquet batch), so that a file of tens of millions of rows never sits in memory
whole; each chunk carries the spreadsheet number of its first row (header = row 1, so the
n-th record is row n + 1; for Parquet likewise).

CSV may be UTF-8 (with or without BOM) or GB18030, which Excel on a Chinese Windows writes.
Headers may be a column's name, its Chinese label or an alias (``tabular.Column``).
Timestamps are ISO 8601, read as Asia/Shanghai time when they carry no offset, and are
returned in UTC.

Errors are collected in ``RowErrors`` (the first ``limit`` listed, every bad row counted)
and turned into one ``ImportRejected`` by ``reject``: an import writes all or nothing.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fangkong.config import get_settings
from fangkong.errors import ImportRejected, InvalidInput
from fangkong.lake.writer import LOCAL_TZ
from fangkong.tabular import Column, ImportReport, RowError, header_map

# Errors listed: None for FANGKONG_IMPORT_MAX_ERRORS (an importer, or a test, may fix it).
MAX_ERRORS: int | None = None
BATCH_ROWS = 500_000  # Parquet rows per chunk
CSV_BLOCK_BYTES = 32 << 20  # ~500 k rows of a typical scan CSV
BAD_TIME = "not an ISO 8601 date and time (e.g. 2022-03-22T08:30:00, +08:00 optional)"
_OFFSET = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
# A time of day alone ("08:30", "8:30:15.5"), and a date alone ("2022-04-04").
_TIME_ONLY = r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"
_UTC = pa.timestamp("us", tz="UTC")
_SHANGHAI = ZoneInfo(LOCAL_TZ)

Progress = Callable[[int], None]


@dataclass
class Chunk:
    table: pa.Table  # canonical column names
    first_row: int


@dataclass
class RowErrors:
    """Row errors up to ``limit``; the bad rows are counted in full."""

    listed: list[RowError] = field(default_factory=list)
    unlisted: int = 0
    bad_rows: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.limit is None:
            self.limit = get_settings().import_max_errors

    def add(self, error: RowError) -> None:
        if self.room > 0:
            self.listed.append(error)
        else:
            self.unlisted += 1

    @property
    def room(self) -> int:
        return max((self.limit or 0) - len(self.listed), 0)

    def __bool__(self) -> bool:
        return bool(self.listed) or self.bad_rows > 0


Check = tuple[pa.Array, str, Callable[[int], str], "pa.Array | pa.ChunkedArray | None"]
"""One vectorised check of a chunk: the mask of its bad rows, the column, the reason for a
row (by its index in the chunk) and the values to show (or None)."""


def report_checks(checks: Sequence[Check], first_row: int, errors: RowErrors) -> int:
    """Add the rows each check flags to ``errors`` (in row order, up to the limit); returns
    the number of bad rows (a row failing two checks counts once)."""
    if not checks:
        return 0
    any_bad = checks[0][0]
    for mask, _, _, _ in checks[1:]:
        any_bad = pc.or_(any_bad, mask)
    bad_rows = pc.sum(any_bad.cast(pa.int64())).as_py() or 0
    if not bad_rows:
        return 0
    errors.bad_rows += bad_rows
    room = errors.room
    found: list[RowError] = []
    total = 0
    for mask, column, reason, shown in checks:
        indices = pc.indices_nonzero(mask)
        total += len(indices)
        found.extend(
            RowError(first_row + i, column, reason(i), value_at(shown, i))
            for i in indices[:room].to_pylist()
        )
    found.sort(key=lambda e: e.row)
    errors.listed.extend(found[:room])
    errors.unlisted += total - len(found[:room])
    return int(bad_rows)


def value_at(shown: pa.ChunkedArray | pa.Array | None, index: int) -> str | None:
    if shown is None:
        return None
    value = shown[index].as_py()
    return None if value is None else str(value)


def reject(report: ImportReport, errors: RowErrors, what: str = "row(s)") -> None:
    """Raise ``ImportRejected`` with the listed errors: nothing was written."""
    report.reject(errors.listed)
    report.unlisted += errors.unlisted
    errors.unlisted = report.unlisted
    report.rejected = max(errors.bad_rows, report.rejected)
    more = f"; {errors.unlisted} more error(s) not listed" if errors.unlisted else ""
    raise ImportRejected(
        f"{report.rejected} {what} rejected; nothing was imported{more}",
        errors=[e.model_dump() for e in report.errors],
        report=report.model_dump(),
        unlisted=errors.unlisted,
    )


# ---------------------------------------------------------------------------- files


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


def _map_header(titles: list[str], columns: list[Column], errors: RowErrors) -> list[str | None]:
    names = header_map(columns)
    mapped: list[str | None] = []
    for title in titles:
        name = names.get(title.strip().lstrip("\ufeff").lower())
        if name is not None and name in mapped:
            errors.add(RowError(1, name, "column appears twice in the header"))
        mapped.append(name)
    for col in columns:
        if col.required and col.name not in mapped:
            reason = f"required column missing (header {col.name} or {col.label})"
            errors.add(RowError(1, col.name, reason))
    return mapped


def csv_chunks(
    data: bytes | Path,
    columns: list[Column],
    errors: RowErrors,
    block_bytes: int = CSV_BLOCK_BYTES,
) -> Iterator[Chunk]:
    """The CSV's rows as text columns, a block at a time. A malformed line (too many or too
    few fields) is reported near where it was and skipped."""
    head = _head(data)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput("the file is UTF-16 text; save it as CSV UTF-8 and import it again")
    encoding = _encoding(head)
    text = head.decode("gb18030" if encoding != "utf8" else "utf-8", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        errors.add(RowError(1, None, "the file is empty: no header row"))
        return
    titles = next(csv.reader([first]))
    mapped = _map_header(titles, columns, errors)
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
                column_names=names, skip_rows=1, encoding=encoding, block_size=block_bytes
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
            for reason in malformed:
                errors.add(RowError(row, None, reason))
                errors.bad_rows += 1
                row += 1
            malformed.clear()
            yield Chunk(pa.Table.from_batches([batch]), row)
            row += batch.num_rows
        for reason in malformed:
            errors.add(RowError(row, None, reason))
            errors.bad_rows += 1
            row += 1
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not a readable CSV file: {exc}") from exc


def parquet_chunks(
    data: bytes | Path, columns: list[Column], errors: RowErrors, batch_rows: int = BATCH_ROWS
) -> Iterator[Chunk]:
    """The Parquet file's rows with their own types, a batch at a time."""
    try:
        file = pq.ParquetFile(_source(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"not a readable Parquet file: {exc}") from exc
    wanted = _wanted(list(file.schema_arrow.names), columns, errors)
    if errors:
        return
    row = 2
    for batch in file.iter_batches(batch_size=batch_rows, columns=list(wanted)):
        table = pa.Table.from_batches([batch])
        yield Chunk(table.rename_columns([wanted[n] for n in table.column_names]), row)
        row += batch.num_rows


def table_chunks(
    table: pa.Table,
    columns: list[Column],
    errors: RowErrors,
    *,
    first_row: int = 2,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Chunk]:
    """An Arrow table's rows, as a file's would be read; row ``first_row`` is its first."""
    wanted = _wanted(list(table.column_names), columns, errors)
    if errors:
        return
    picked = table.select(list(wanted)).rename_columns(list(wanted.values()))
    for start in range(0, picked.num_rows, batch_rows):
        yield Chunk(picked.slice(start, batch_rows), first_row + start)


def _wanted(titles: list[str], columns: list[Column], errors: RowErrors) -> dict[str, str]:
    """Title -> column name of the known columns (the others are ignored)."""
    mapped = _map_header(titles, columns, errors)
    return {title: name for title, name in zip(titles, mapped, strict=True) if name}


def chunks(
    data: bytes | Path,
    filename: str,
    columns: list[Column],
    errors: RowErrors,
    *,
    batch_rows: int = BATCH_ROWS,
    block_bytes: int = CSV_BLOCK_BYTES,
) -> Iterator[Chunk]:
    """CSV (``.csv``, ``.txt``) or Parquet chunks, by the file name's suffix."""
    suffix = Path(filename).suffix.lower()
    if suffix in {".csv", ".txt"}:
        return csv_chunks(data, columns, errors, block_bytes)
    if suffix == ".parquet":
        return parquet_chunks(data, columns, errors, batch_rows)
    raise InvalidInput(f"{filename}: unsupported file type {suffix!r}; use .csv or .parquet")


# ---------------------------------------------------------------------------- values


def text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Trimmed text, empty as null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    trimmed = pc.utf8_trim_whitespace(column.cast(pa.string()))
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def parse_timestamps(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """UTC timestamps and a mask of the unparseable values (empty values are null, not
    bad). Text without an offset, and naive Parquet timestamps, are Asia/Shanghai time."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column.cast(pa.timestamp("us")), LOCAL_TZ)
        return column.cast(_UTC), _none(len(column))
    values = text(column)
    aware = pc.match_substring_regex(values, _OFFSET)
    null = pa.scalar(None, pa.string())
    try:
        with_offset = pc.if_else(aware, values, null).cast(_UTC)
        local = pc.if_else(aware, null, values).cast(pa.timestamp("us"))
        local = pc.assume_timezone(local, LOCAL_TZ).cast(_UTC)
        return pc.if_else(aware, with_offset, local), _none(len(values))
    except pa.ArrowInvalid:
        return _parse_slowly(values)


def timestamp_shapes(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """Masks of the text values that are a time of day without a date, and a date without
    a time of day (timestamps of a typed column are neither)."""
    n = len(column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return _none(n), _none(n)
    values = text(column)
    no_date = pc.fill_null(pc.match_substring_regex(values, _TIME_ONLY), False)
    no_time = pc.fill_null(pc.match_substring_regex(values, _DATE_ONLY), False)
    return no_date, no_time


def row_numbers(first_row: int, n: int) -> pa.Array:
    """``first_row, first_row + 1, …`` as int64, ``n`` of them, without a Python loop
    over every row."""
    ones = pa.repeat(pa.scalar(1, pa.int64()), n)
    return pc.add(pc.cumulative_sum(ones), first_row - 1)


def _none(n: int) -> pa.Array:
    return pa.repeat(pa.scalar(False), n)


def _parse_slowly(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Value by value, to find which are bad (only when the fast cast failed)."""
    parsed_values: list[datetime | None] = []
    bad: list[bool] = []
    for raw in values.to_pylist():
        if raw is None:
            parsed_values.append(None)
            bad.append(False)
            continue
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            parsed_values.append(None)
            bad.append(True)
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_SHANGHAI)
        parsed_values.append(parsed)
        bad.append(False)
    return pa.array(parsed_values, type=_UTC), pa.array(bad)
