"""Writing venue scans into the lake: atomic appends, deduplication, compaction.

Layout (``lake/layout.py``)::

    lake/scans/day=YYYY-MM-DD/part-<uuid>.parquet       appended batches, until compacted
    lake/scans/day=YYYY-MM-DD/compact-<uuid>.parquet    a compacted day, by venue
    lake/scans_by_person/day=YYYY-MM-DD/compact-<uuid>.parquet   the same day, by person
    lake/keys/person|venue/keys-<first>-<end>.parquet   the dictionaries (lake/keys.py)
    lake/_staging/<uuid>/                                a writer's work (DuckDB spill files)
    lake/_lock                                           one writer or compactor at a time

The day is the local (Asia/Shanghai) day of ``entered_at``; timestamps are stored in UTC.
Files hold ``person_key`` / ``venue_key`` (int32) for the incoming ``person_id`` /
``venue_code``: a writer gives keys to the ids the lake has not seen and publishes them
before the scans that use them.

Atomic: every file is written under a name starting with ``.`` in its final folder and
appears by ``os.replace``, so a reader (or a crash) never sees half a file. A batch spanning
several days writes every day's file first, then renames them one after the other: a crash
between two renames leaves whole days, and re-running the import adds exactly the rest.
Dot-files older than an hour are left-overs of a crash and are removed by the next writer,
as are the staging folders of processes that have ended (``lake/staging.py``; the server
also removes those when it starts).

Dedup: the key is (person_key, venue_key, entered_at). A batch is reduced to one row per
key (a recorded exit wins over an inferred one), then anti-joined with the files of the days
it touches; the dropped rows are counted as duplicates. Re-importing a file writes nothing.

Sort order, for the two lookups of tracing (``tracing/query.py``):

* everyone at a set of venues in overlapping intervals: the main copy of a day is sorted
  by (venue_key, entered_at), in row groups of ``ROW_GROUP_ROWS``: small enough (about a
  hundred venues each) that the min/max statistics of a group let both engines skip it when
  none of the listed venues falls in its range. A hundred positives visit about nine
  hundred of a city's 125 k venues a day, and that list prunes about two thirds of the
  day's groups, where DuckDB's default (122,880 rows, ~1,500 venues) could skip none;
* a person's visits in a window: the person index, a second copy of each compacted day
  sorted by (person_key, entered_at) in row groups of ``PERSON_ROW_GROUP_ROWS`` (about
  800 persons each), so that a hundred persons touch a hundred groups of a day instead of
  the whole column.
  ``lake.scans.keyed_visits(..., by="person")`` reads it, plus the parts not yet compacted.

A day written before the lake had dictionaries (ids in its files) is rewritten with keys by
its next compaction; readers refuse such files until then (``layout.require_keyed``).

Files are written in Parquet format version 2 (delta encodings): the sorted timestamps and
the keys then take less space and decode faster than plain pages (docs/performance.md).

Scale: 70 M scans a week is ~10 M rows a day, 700 M over 14 days ~50 M a day; each day is
one file per copy (~11 bytes a row with LZ4). Dedup and compaction run in DuckDB with a
memory limit (``MEMORY_LIMIT``) and spill to the staging folder, so a day of any size
compacts within 16 GiB; a small batch (the live buffer) costs one pass over the key columns
of the days it touches.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.lake import keys, staging
from fangkong.lake.keys import KINDS, PERSON, VENUE
from fangkong.lake.layout import (
    COMPACT_PREFIX,
    PART_PREFIX,
    SCAN_STREAM,
    SCANS,
    SCANS_BY_PERSON,
    STORED_SCANS,
    Stream,
    is_compacted,
    is_keyed,
    require_keyed,
    sql_path,
)

LOCAL_TZ = "Asia/Shanghai"
ROW_GROUP_ROWS = 8_192
# Smaller groups read fewer rows but cost DuckDB more per group: 8,192 looks up a hundred
# persons faster than 4,096 or 1,024, and halves the footers a first trace reads.
PERSON_ROW_GROUP_ROWS = 8_192
MEMORY_LIMIT = "6GB"
# LZ4 (raw) rather than zstd: a tenth more disk, a sixth less time per trace, which is
# mostly decompressing the row groups it reads (docs/performance.md).
CODEC = "lz4_raw"
STALE_SECONDS = 3600.0
KEY = ("person_key", "venue_key", "entered_at")
_COLUMNS = ", ".join(SCANS.names)
_STORED_COLUMNS = ", ".join(STORED_SCANS.names)


def _dedup(source: str, key: tuple[str, str, str]) -> str:
    """One row per key; a recorded exit wins over an inferred one, the earliest over later
    ones."""
    return f"""
    SELECT {", ".join(key)},
        coalesce(min(left_at) FILTER (WHERE NOT left_at_inferred), min(left_at)) AS left_at,
        bool_and(left_at_inferred) AS left_at_inferred
    FROM ({source}) GROUP BY {", ".join(key)}
    """


def _keyed_query(con: duckdb.DuckDBPyConnection, lake: Path, table: str) -> tuple[str, list[Path]]:
    """A SELECT of ``table`` (scans with ids) with keys in place of the ids, and the new
    dictionary files it needs (to publish before the scans that use them)."""
    pending = [p for kind in KINDS if (p := keys.assign(con, lake, kind, table)) is not None]
    query = (
        f"SELECT p.key AS {PERSON.key_column}, v.key AS {VENUE.key_column}, "
        f"t.* EXCLUDE ({PERSON.id_column}, {VENUE.id_column}) FROM {table} AS t "
        f"JOIN {PERSON.name}_keys AS p ON p.value = t.{PERSON.id_column} "
        f"JOIN {VENUE.name}_keys AS v ON v.value = t.{VENUE.id_column}"
    )
    return query, pending


@dataclass
class WriteReport:
    added: int = 0
    duplicates: int = 0
    files: list[Path] = field(default_factory=list)


@dataclass
class CompactReport:
    day: date
    rows: int = 0
    duplicates: int = 0
    removed: list[Path] = field(default_factory=list)
    file: Path | None = None


@dataclass(frozen=True)
class DayStats:
    day: date
    files: int
    rows: int
    compacted: bool


@contextmanager
def lake_lock(lake: Path) -> Iterator[None]:
    """One writer or compactor at a time (across processes): dedup reads what is there."""
    lake.mkdir(parents=True, exist_ok=True)
    with (lake / "_lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def workspace(
    lake: Path, *, memory_limit: str = MEMORY_LIMIT, preserve_insertion_order: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with a memory limit (the lake's by default), spilling to a
    staging folder of the lake that is removed afterwards. Timestamps are compared in UTC.
    Without ``preserve_insertion_order`` DuckDB may reorder rows no query orders, and needs
    less memory for it."""
    work = staging.new_folder(lake)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{sql_path(work)}'")
        if not preserve_insertion_order:
            con.execute("SET preserve_insertion_order = false")
        yield con
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


def _file_list(files: list[Path]) -> str:
    return "[" + ", ".join(f"'{sql_path(f)}'" for f in files) + "]"


def hidden_name(final: Path) -> Path:
    """Where a file is written before it appears by rename (never read: a dot-file)."""
    return final.with_name("." + final.name)


def write_scans(lake: Path, table: pa.Table) -> WriteReport:
    """Append validated scans (columns of ``layout.SCANS``); duplicates are dropped."""
    table = table.select(SCANS.names).cast(SCANS)
    if table.num_rows == 0:
        return WriteReport()
    with workspace(lake) as con:
        con.register("incoming", table)
        return _publish(lake, con, "SELECT * FROM incoming", table.num_rows)


def write_scan_files(lake: Path, files: list[Path], rows: int) -> WriteReport:
    """Append scans staged as Parquet files of ``layout.SCANS`` (a large import)."""
    if not files or rows == 0:
        return WriteReport()
    with workspace(lake) as con:
        return _publish(
            lake, con, f"SELECT {_COLUMNS} FROM read_parquet({_file_list(files)})", rows
        )


def _publish(lake: Path, con: duckdb.DuckDBPyConnection, source: str, rows: int) -> WriteReport:
    report = WriteReport()
    with lake_lock(lake):
        remove_stale(lake)
        con.execute(f"CREATE TEMP TABLE incoming_ids AS {source}")
        keyed, pending = _keyed_query(con, lake, "incoming_ids")
        try:
            # Deduplicated on the keys (integers group faster than the ids).
            con.execute(
                f"CREATE TEMP TABLE batch AS SELECT *, CAST(timezone('{LOCAL_TZ}', entered_at) "
                f"AS DATE) AS day FROM ({_dedup(keyed, KEY)})"
            )
            con.execute("DROP TABLE incoming_ids")
            _write_batch(lake, con, rows, pending, report)
        finally:
            keys.discard(pending)
    return report


def _write_batch(
    lake: Path,
    con: duckdb.DuckDBPyConnection,
    rows: int,
    pending: list[Path],
    report: WriteReport,
) -> None:
    """Table ``batch`` minus what the lake holds, a file per day; the new dictionary files
    (``pending``) appear first, then the days."""
    days = [d for (d,) in con.execute("SELECT DISTINCT day FROM batch ORDER BY day").fetchall()]
    existing = SCAN_STREAM.files(lake, days)
    require_keyed(existing)
    fresh = "batch"
    if existing:
        on = " AND ".join(f"b.{k} = e.{k}" for k in KEY)
        con.execute(
            f"CREATE TEMP TABLE fresh AS SELECT b.* FROM batch b ANTI JOIN "
            f"(SELECT {', '.join(KEY)} FROM read_parquet({_file_list(existing)})) e ON {on}"
        )
        fresh = "fresh"
    counts = dict(con.execute(f"SELECT day, count(*) FROM {fresh} GROUP BY day").fetchall())
    report.added = sum(counts.values())
    report.duplicates = rows - report.added
    written: list[Path] = []
    try:
        for day in sorted(counts):
            folder = SCAN_STREAM.day_dir(lake, day)
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / f"{PART_PREFIX}{uuid.uuid4().hex}.parquet"
            written.append(final)
            copy_parquet(
                con,
                f"SELECT {_STORED_COLUMNS} FROM {fresh} WHERE day = DATE '{day.isoformat()}' "
                "ORDER BY venue_key, entered_at",
                hidden_name(final),
                ROW_GROUP_ROWS,
            )
        # Every day is written before any appears, and the keys they use before them.
        keys.publish(pending)
        for final in written:
            os.replace(hidden_name(final), final)
            report.files.append(final)
    finally:
        for final in written:
            hidden_name(final).unlink(missing_ok=True)


def copy_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path, row_group: int) -> None:
    """``query`` into a Parquet file of the lake's format (``CODEC``, version 2)."""
    con.execute(
        f"COPY ({query}) TO '{sql_path(target)}' "
        f"(FORMAT parquet, COMPRESSION {CODEC}, PARQUET_VERSION V2, ROW_GROUP_SIZE {row_group})"
    )


def compact(lake: Path, day: date) -> CompactReport:
    """Merge a day's files into one, deduplicated and sorted by venue, and rewrite its
    person index. The new files appear (by rename) before the old ones are removed: a
    crash in between leaves duplicates visible until the day is compacted again."""
    report = CompactReport(day)
    with lake_lock(lake):
        remove_stale(lake)
        files = SCAN_STREAM.files(lake, [day])
        indexed = SCANS_BY_PERSON.files(lake, [day])
        if not files:
            return report
        if _is_compacted_day(files, indexed):
            report.file = files[0]
            report.rows = pq.ParquetFile(files[0]).metadata.num_rows
            return report
        with workspace(lake) as con:
            source, pending = _day_source(con, lake, files)
            total = con.execute(f"SELECT count(*) FROM ({source})").fetchone()
            con.execute(f"CREATE TEMP TABLE day AS {_dedup(source, KEY)}")
            name = f"{COMPACT_PREFIX}{uuid.uuid4().hex}.parquet"
            main = SCAN_STREAM.day_dir(lake, day) / name
            person = SCANS_BY_PERSON.day_dir(lake, day) / name
            person.parent.mkdir(parents=True, exist_ok=True)
            try:
                copy_parquet(
                    con,
                    "SELECT * FROM day ORDER BY venue_key, entered_at",
                    hidden_name(main),
                    ROW_GROUP_ROWS,
                )
                copy_parquet(
                    con,
                    "SELECT * FROM day ORDER BY person_key, entered_at",
                    hidden_name(person),
                    PERSON_ROW_GROUP_ROWS,
                )
                keys.publish(pending)
                os.replace(hidden_name(main), main)
                os.replace(hidden_name(person), person)
            finally:
                keys.discard(pending)
                hidden_name(main).unlink(missing_ok=True)
                hidden_name(person).unlink(missing_ok=True)
            rows = con.execute("SELECT count(*) FROM day").fetchone()
        for old in [*files, *indexed]:
            old.unlink(missing_ok=True)
            report.removed.append(old)
        report.file = main
        report.rows = int(rows[0]) if rows else 0
        report.duplicates = (int(total[0]) if total else 0) - report.rows
    return report


def _is_compacted_day(files: list[Path], indexed: list[Path]) -> bool:
    """One compacted file and its person index, both of the keyed layout."""
    return (
        len(files) == 1
        and is_compacted(files[0])
        and len(indexed) == 1
        and is_keyed(files[0])
        and is_keyed(indexed[0])
    )


def _day_source(
    con: duckdb.DuckDBPyConnection, lake: Path, files: list[Path]
) -> tuple[str, list[Path]]:
    """A SELECT of the keyed rows of a day's files, and the dictionary files to publish:
    files written before the lake had dictionaries hold ids, which get keys here (the
    upgrade of an older lake is compacting it)."""
    keyed = [f for f in files if is_keyed(f)]
    older = [f for f in files if not is_keyed(f)]
    parts = []
    if keyed:
        parts.append(f"SELECT {_STORED_COLUMNS} FROM read_parquet({_file_list(keyed)})")
    pending: list[Path] = []
    if older:
        con.execute(
            f"CREATE TEMP TABLE older AS SELECT {_COLUMNS} FROM read_parquet({_file_list(older)})"
        )
        query, pending = _keyed_query(con, lake, "older")
        parts.append(f"SELECT {_STORED_COLUMNS} FROM ({query})")
    return " UNION ALL ".join(parts), pending


def remove_stale(lake: Path, *, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove what crashed writers left: dot-files in day folders older than
    ``older_than`` seconds (a running writer's are younger), staging folders of ended
    processes (``lake.staging``)."""
    limit = time.time() - older_than
    removed: list[Path] = []
    leftovers = [
        *(f for s in (SCAN_STREAM, SCANS_BY_PERSON) for f in s.root(lake).glob("day=*/.*")),
        *(f for kind in KINDS for f in keys.folder(lake, kind).glob(".*")),
    ]
    for leftover in leftovers:
        if leftover.is_file() and leftover.stat().st_mtime < limit:
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    removed.extend(staging.remove_abandoned(lake, older_than=older_than))
    return removed


def day_stats(lake: Path, stream: Stream = SCAN_STREAM) -> list[DayStats]:
    """Per day: visible files and rows (from the Parquet footers, nothing is scanned)."""
    result = []
    for day in stream.days(lake):
        files = stream.files(lake, [day])
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        compacted = len(files) == 1 and is_compacted(files[0]) and is_keyed(files[0])
        result.append(DayStats(day, len(files), rows, compacted))
    return result
