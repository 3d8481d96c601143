"""Samples (样本) of a round: who was swabbed into which tube (采样管), where and when.

A row is one person's swab in one tube: ``person_id, tube_barcode, tube_size, point_code,
sampled_at`` (headers also 人员编号, 采样管码 or 试管编码, 混采数, 采样点, 采样时间). A pool
(混采) of 5, 10 or 20 has as many rows as persons, all with the tube's barcode; a single tube
(单采) has size 1. Timestamps are ISO 8601, Asia/Shanghai time when they carry no offset.

``import_samples`` reads a CSV (UTF-8 or GB18030) or Parquet file in chunks
(``lake/reading.py``): each chunk is checked field by field with Arrow and appended to a
DuckDB table, so that a city's 25.7 M rows never sit in Python memory. The checks that need
the whole file and the round's stored samples then run in DuckDB, under the testing lock:

- a tube has one size: the same barcode with two sizes is an error at every row whose size
  differs from the tube's stored size, or from its first row in the file;
- a tube holds at most ``tube_size`` persons, counting those already stored: the rows that
  overfill it are errors, and the message lists the tube's rows;
- a person is swabbed into a tube once: a second row of the same person and tube in the file
  is an error (the first is kept);
- a tube sealed by its sampling point (``close_tube``) takes no later swab: a sample after
  the closure is an error. One before it is a late upload, and is accepted.

All or nothing: with any bad row nothing is written and ``ImportRejected`` lists the first
``MAX_ERRORS`` errors (row, column, reason, value; header = row 1) and counts the rest.
Idempotent: a row whose (round, person, tube) is already stored is skipped and counted as a
duplicate, so importing a file again adds nothing. The new rows become one part file
(``testing/lake.py``), sorted by tube so that a later batch's check, which looks up its
tubes, skips the row groups of other tubes.

A caller bound to an area samples only its own persons, as it exempts and recalls only
them: ``outside`` (from ``service.persons_outside``) names a chunk's persons it does not
reach, and each of their rows is an error.

``add_samples`` applies the same checks to a small batch from a sampling device (rows
numbered by their index in the batch, as the scans API numbers them); ``close_tube`` seals
a tube.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.errors import ImportRejected, InvalidInput
from fangkong.lake import reading
from fangkong.lake.reading import Chunk, Progress, RowErrors
from fangkong.lake.writer import LOCAL_TZ
from fangkong.tabular import Column, ImportReport
from fangkong.testing import lake as tlake
from fangkong.testing.pooling import VALIDATED_SIZES

COLUMNS = [
    Column("person_id", "人员编号", required=True, aliases=("person_no", "人员ID")),
    Column("tube_barcode", "采样管码", required=True, aliases=("试管编码", "试管码", "采样管编码")),
    Column("tube_size", "混采数", required=True, aliases=("混采人数", "pool_size")),
    Column("point_code", "采样点", required=True, aliases=("采样点编码", "采样点编号")),
    Column("sampled_at", "采样时间", required=True),
]
MAX_ERRORS = reading.MAX_ERRORS
BATCH_ROWS = reading.BATCH_ROWS
LISTED_ROWS = 20  # rows of an over-full tube named in its message
_NO_DATE = "sampled_at has a time of day but no date (e.g. 2022-04-04T08:30:00)"
_NO_TIME = "sampled_at has a date but no time of day (e.g. 2022-04-04T08:30:00)"
_NOT_YOURS = "no person of that number in your jurisdiction"
_UTC = pa.timestamp("us", tz="UTC")
_SHANGHAI = ZoneInfo(LOCAL_TZ)

# The staged rows: every row of the input, its bad values null, ``ok`` when it passed the
# checks of its own fields.
_INCOMING = """
CREATE TEMP TABLE incoming (
    "row" BIGINT, person_id VARCHAR, tube_barcode VARCHAR, tube_size SMALLINT,
    point_code VARCHAR, sampled_at TIMESTAMPTZ, ok BOOLEAN
)
"""


@dataclass(frozen=True)
class SampleImportReport:
    """What an import of samples did."""

    round_code: str
    rows: int  # read
    added: int
    duplicates: int  # rows already stored, skipped
    tubes: int  # distinct tubes in the input
    seconds: float
    file: Path | None  # the part file written, None when nothing was new

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


PersonsOutside = Callable[[list[str]], set[str]]
"""Given a chunk's person numbers, those the caller may not sample."""


def import_samples(
    lake: Path,
    round_code: str,
    source: Path,
    *,
    allowed_sizes: Sequence[int] = VALIDATED_SIZES,
    progress: Progress | None = None,
    outside: PersonsOutside | None = None,
) -> SampleImportReport:
    """Check every row of ``source`` (CSV or Parquet), then append the new ones to the
    round's samples; raise ``ImportRejected`` on any bad row, writing nothing.
    ``progress`` is called with the rows read so far."""
    tlake.check_round_code(round_code)
    errors = RowErrors(limit=MAX_ERRORS)
    chunks = reading.chunks(source, source.name, COLUMNS, errors, batch_rows=BATCH_ROWS)
    return _import(lake, round_code, chunks, errors, allowed_sizes, progress, outside)


def add_samples(
    lake: Path,
    round_code: str,
    rows: pa.Table,
    *,
    allowed_sizes: Sequence[int] = VALIDATED_SIZES,
    outside: PersonsOutside | None = None,
) -> SampleImportReport:
    """Append a batch of samples (the columns of an import, as text or typed), checked as
    an import is; a row is numbered by its index in ``rows``."""
    tlake.check_round_code(round_code)
    errors = RowErrors(limit=MAX_ERRORS)
    chunks = reading.table_chunks(rows, COLUMNS, errors, first_row=0)
    return _import(lake, round_code, chunks, errors, allowed_sizes, None, outside)


def _import(
    lake: Path,
    round_code: str,
    chunks: Iterable[Chunk],
    errors: RowErrors,
    allowed_sizes: Sequence[int],
    progress: Progress | None,
    outside: PersonsOutside | None,
) -> SampleImportReport:
    started = time.perf_counter()
    allowed = _allowed(allowed_sizes)
    with tlake.workspace(lake) as con:
        con.execute(_INCOMING)
        rows = 0
        for chunk in chunks:
            staged = _check_chunk(chunk, allowed, errors, outside)
            con.register("chunk", staged)
            con.execute("INSERT INTO incoming SELECT * FROM chunk")
            con.unregister("chunk")
            rows += chunk.table.num_rows
            if progress is not None:
                progress(rows)
        with tlake.testing_lock(lake):
            tlake.remove_stale(lake)
            tlake.view(con, "stored", tlake.SAMPLE_STREAM, lake, round_code)
            tlake.view(con, "closures", tlake.CLOSURE_STREAM, lake, round_code)
            _check_across(con, round_code, errors)
            if errors:
                reading.reject(ImportReport(), errors)
            duplicates = tlake.count(con, "SELECT count(*) FROM known")
            tubes = tlake.count(con, "SELECT count(*) FROM tubes")
            written: Path | None = None
            if rows > duplicates:
                written = tlake.SAMPLE_STREAM.new_part(lake, round_code)
                tlake.publish(
                    con,
                    f"SELECT {tlake.sql_text(round_code)} AS round_code, person_id, "
                    "tube_barcode, tube_size, point_code, sampled_at "
                    'FROM incoming ANTI JOIN known USING ("row") ORDER BY tube_barcode',
                    written,
                )
    return SampleImportReport(
        round_code=round_code,
        rows=rows,
        added=rows - duplicates,
        duplicates=duplicates,
        tubes=tubes,
        seconds=time.perf_counter() - started,
        file=written,
    )


def _allowed(sizes: Sequence[int]) -> list[int]:
    allowed = sorted(set(sizes))
    if not allowed or any(not 1 <= n <= 1000 for n in allowed):
        raise InvalidInput(f"allowed tube sizes must be between 1 and 1000, got {list(sizes)}")
    return allowed


# ---------------------------------------------------------------------------- a chunk


def _check_chunk(
    chunk: Chunk, allowed: list[int], errors: RowErrors, outside: PersonsOutside | None = None
) -> pa.Table:
    """The chunk as staged rows (bad values null), its bad rows added to ``errors``."""
    table, first_row = chunk.table, chunk.first_row
    n = table.num_rows
    person = reading.text(table["person_id"])
    tube = reading.text(table["tube_barcode"])
    point = reading.text(table["point_code"])
    raw_at = table["sampled_at"]
    sampled_at, bad_at = reading.parse_timestamps(raw_at)
    no_date, no_time = reading.timestamp_shapes(raw_at)
    bad_at = pc.and_(bad_at, pc.invert(no_date))
    empty_at = pc.and_(sampled_at.is_null(), pc.invert(pc.or_(bad_at, no_date)))
    size, empty_size, not_whole, not_allowed = _sizes(table["tube_size"], allowed)
    listed = ", ".join(map(str, allowed))

    checks: list[reading.Check] = [
        (person.is_null(), "person_id", lambda _: "person_id is empty", None),
        (tube.is_null(), "tube_barcode", lambda _: "tube_barcode is empty", None),
        (empty_size, "tube_size", lambda _: "tube_size is empty", None),
        (not_whole, "tube_size", lambda _: "tube_size is not a whole number", table["tube_size"]),
        (
            not_allowed,
            "tube_size",
            lambda _: f"tube size not allowed: use one of {listed}",
            table["tube_size"],
        ),
        (point.is_null(), "point_code", lambda _: "point_code is empty", None),
        (empty_at, "sampled_at", lambda _: "sampled_at is empty", None),
        (no_date, "sampled_at", lambda _: _NO_DATE, raw_at),
        (no_time, "sampled_at", lambda _: _NO_TIME, raw_at),
        (bad_at, "sampled_at", lambda _: reading.BAD_TIME, raw_at),
    ]
    if outside is not None:
        refused = outside(pc.unique(person.drop_null()).to_pylist())
        foreign = pc.is_in(person, value_set=pa.array(sorted(refused), pa.string()))
        checks.append((foreign, "person_id", lambda _: _NOT_YOURS, person))
    reading.report_checks(checks, first_row, errors)
    bad = checks[0][0]
    for mask, _, _, _ in checks[1:]:
        bad = pc.or_(bad, mask)
    good_size = pc.invert(pc.or_(pc.or_(empty_size, not_whole), not_allowed))
    at = pc.if_else(pc.or_(no_time, no_date), pa.scalar(None, _UTC), sampled_at)
    return pa.table(
        {
            "row": reading.row_numbers(first_row, n),
            "person_id": person,
            "tube_barcode": tube,
            "tube_size": pc.if_else(good_size, size, pa.scalar(None, pa.int16())),
            "point_code": point,
            "sampled_at": at,
            "ok": pc.invert(bad),
        }
    )


def _sizes(
    column: pa.ChunkedArray, allowed: list[int]
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Sizes as int16 (null where not a size), and the masks: empty, not a whole number,
    a whole number not allowed."""
    values = column.combine_chunks()
    if pa.types.is_integer(values.type):
        number = values.cast(pa.int64())
        not_whole = pa.repeat(pa.scalar(False), len(values))
    else:
        values = reading.text(values)
        whole = pc.fill_null(pc.match_substring_regex(values, r"^\d{1,6}(\.0*)?$"), False)
        long_whole = pc.fill_null(pc.match_substring_regex(values, r"^\d+$"), False)
        digits = pc.if_else(whole, pc.replace_substring_regex(values, r"\..*$", ""), None)
        number = digits.cast(pa.int64())
        # A huge whole number is a size, just not one allowed.
        number = pc.if_else(pc.and_(long_whole, pc.invert(whole)), pa.scalar(-1), number)
        not_whole = pc.and_(values.is_valid(), pc.invert(pc.or_(whole, long_whole)))
    empty = values.is_null()
    ok = pc.is_in(number, value_set=pa.array(allowed, pa.int64()))
    not_allowed = pc.and_(number.is_valid(), pc.invert(ok))
    size = pc.if_else(ok, number, None).cast(pa.int16())
    return size, empty, not_whole, not_allowed


# ---------------------------------------------------------------------------- across rows


def _check_across(con: duckdb.DuckDBPyConnection, round_code: str, errors: RowErrors) -> None:
    """The checks needing the whole input and the stored samples; each found problem is
    added to ``errors``. Leaves ``known`` (rows already stored) and ``tubes`` behind."""
    con.execute(tlake.PROBLEMS)
    # Rows already stored: skipped as duplicates, and not counted twice in a tube.
    con.execute(
        'CREATE TEMP TABLE known AS SELECT i."row", i.tube_barcode, i.person_id '
        "FROM incoming i SEMI JOIN stored s "
        "ON i.tube_barcode = s.tube_barcode AND i.person_id = s.person_id"
    )
    # Per tube of the input: its first row's size, its sizes' range, its persons' rows.
    con.execute(
        """
        CREATE TEMP TABLE tubes AS
        SELECT tube_barcode,
            arg_min(tube_size, "row") FILTER (WHERE tube_size IS NOT NULL) AS file_size,
            min("row") FILTER (WHERE tube_size IS NOT NULL) AS size_row,
            min(tube_size) AS min_size, max(tube_size) AS max_size,
            count(*) FILTER (WHERE person_id IS NOT NULL) AS person_rows
        FROM incoming WHERE tube_barcode IS NOT NULL GROUP BY tube_barcode
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE stored_tubes AS
        SELECT tube_barcode, min(tube_size) AS size, count(*) AS persons
        FROM stored WHERE tube_barcode IN (SELECT tube_barcode FROM tubes)
        GROUP BY tube_barcode
        """
    )
    # The same person twice in a tube of the input: the later rows. Pairs are first grouped
    # by a 64-bit hash (an integer key groups several times faster than two strings), then
    # the few candidates exactly.
    con.execute(
        """
        CREATE TEMP TABLE twice AS
        WITH candidates AS (
            SELECT hash(tube_barcode, person_id) AS h FROM incoming
            WHERE tube_barcode IS NOT NULL AND person_id IS NOT NULL
            GROUP BY h HAVING count(*) > 1
        )
        SELECT tube_barcode, person_id, min("row") AS first_row, count(*) AS n
        FROM incoming
        WHERE tube_barcode IS NOT NULL AND person_id IS NOT NULL
            AND hash(tube_barcode, person_id) IN (SELECT h FROM candidates)
        GROUP BY tube_barcode, person_id HAVING count(*) > 1
        """
    )
    con.execute(
        """
        INSERT INTO problems
        SELECT i."row", 'person_id',
            'person ' || i.person_id || ' is already in tube ' || i.tube_barcode
                || ' at row ' || t.first_row,
            i.person_id
        FROM incoming i JOIN twice t USING (tube_barcode, person_id)
        WHERE i."row" > t.first_row
        """
    )
    # A tube has one size: the stored one, else its first row's.
    con.execute(
        """
        INSERT INTO problems
        SELECT i."row", 'tube_size',
            CASE WHEN m.stored_size IS NOT NULL
                THEN 'tube ' || i.tube_barcode || ' is a ' || m.stored_size
                    || '-in-1 tube in the stored samples; a tube has one size'
                ELSE 'tube ' || i.tube_barcode || ' is a ' || m.file_size
                    || '-in-1 tube at row ' || m.size_row || '; a tube has one size' END,
            i.tube_size::VARCHAR
        FROM incoming i JOIN (
            SELECT t.tube_barcode, t.file_size, t.size_row, s.size AS stored_size
            FROM tubes t LEFT JOIN stored_tubes s USING (tube_barcode)
            WHERE t.min_size <> t.max_size OR t.min_size <> s.size OR t.max_size <> s.size
        ) m USING (tube_barcode)
        WHERE i.tube_size <> coalesce(m.stored_size, m.file_size)
        """
    )
    # Over-full: more distinct persons (stored and new) than the tube's size.
    con.execute(
        f"""
        INSERT INTO problems
        WITH counted AS (
            SELECT t.tube_barcode, coalesce(s.size, t.file_size) AS size,
                coalesce(s.persons, 0) AS stored,
                t.person_rows - coalesce(d.extra, 0) - coalesce(k.known, 0) AS new
            FROM tubes t
            LEFT JOIN stored_tubes s USING (tube_barcode)
            LEFT JOIN (SELECT tube_barcode, sum(n - 1) AS extra FROM twice GROUP BY ALL) d
                USING (tube_barcode)
            LEFT JOIN (
                SELECT tube_barcode, count(DISTINCT person_id) AS known FROM known GROUP BY ALL
            ) k USING (tube_barcode)
        ), over AS (
            SELECT * FROM counted WHERE stored + new > size
        ), fresh AS (
            SELECT i.tube_barcode, i.person_id, min(i."row") AS first_row
            FROM incoming i SEMI JOIN over o USING (tube_barcode)
            WHERE i.person_id IS NOT NULL
                AND NOT EXISTS (
                    SELECT 1 FROM known k
                    WHERE k.tube_barcode = i.tube_barcode AND k.person_id = i.person_id
                )
            GROUP BY ALL
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY tube_barcode ORDER BY first_row) AS k
            FROM fresh
        ), listing AS (
            SELECT tube_barcode,
                CASE WHEN count(*) = 1 THEN 'row ' ELSE 'rows ' END
                || array_to_string(list_slice(list("row" ORDER BY "row"), 1, {LISTED_ROWS}), ', ')
                    || CASE WHEN count(*) > {LISTED_ROWS} THEN ', …' ELSE '' END AS rows
            FROM incoming SEMI JOIN over USING (tube_barcode) GROUP BY ALL
        )
        SELECT r.first_row, 'tube_barcode',
            'tube ' || o.tube_barcode || ' is over-full: ' || (o.stored + o.new)
                || ' persons in a ' || o.size || '-in-1 tube (' || l.rows
                || CASE WHEN o.stored > 0 THEN '; ' || o.stored || ' already stored' ELSE '' END
                || ')',
            o.tube_barcode
        FROM ranked r JOIN over o USING (tube_barcode) JOIN listing l USING (tube_barcode)
        WHERE r.k > o.size - o.stored
        """
    )
    # A tube sealed by its point takes no later swab.
    con.execute(
        f"""
        INSERT INTO problems
        SELECT i."row", 'sampled_at',
            'tube ' || i.tube_barcode || ' was closed by point ' || c.point_code || ' at '
                || {tlake.local_text("c.closed_at")} || ', before this sample',
            {tlake.local_text("i.sampled_at")}
        FROM incoming i JOIN (
            SELECT tube_barcode, min(closed_at) AS closed_at,
                arg_min(point_code, closed_at) AS point_code
            FROM closures GROUP BY tube_barcode
        ) c USING (tube_barcode)
        WHERE i.sampled_at > c.closed_at
        """
    )
    tlake.report_problems(con, errors)


# ---------------------------------------------------------------------------- closures


def close_tube(
    lake: Path, round_code: str, tube_barcode: str, point_code: str, closed_at: datetime
) -> bool:
    """Seal a tube at its sampling point: later swabs into it are refused. Idempotent:
    True when the tube was closed now, False when it already was (the first closure
    stands). ``InvalidInput`` when the round has no sample in the tube, when the tube's
    samples were taken at another point, when one of them is later than ``closed_at``, or
    when another point closed it."""
    at = closed_at if closed_at.tzinfo is not None else closed_at.replace(tzinfo=_SHANGHAI)
    table = pa.table(
        {
            "tube_barcode": pa.array([tube_barcode.strip()], pa.string()),
            "point_code": pa.array([point_code.strip()], pa.string()),
            "closed_at": pa.array([at], _UTC),
        }
    )
    try:
        return close_tubes(lake, round_code, table) == 1
    except ImportRejected as exc:
        reasons = "; ".join(e["reason"] for e in exc.details.get("errors", []))
        raise InvalidInput(reasons or exc.message) from exc


def close_tubes(lake: Path, round_code: str, closures: pa.Table) -> int:
    """Seal a batch of tubes (columns ``tube_barcode, point_code, closed_at``; a row is
    numbered by its index); returns how many were newly closed. All or nothing, as
    ``close_tube`` checks; a tube already closed by the same point is skipped."""
    tlake.check_round_code(round_code)
    missing = {"tube_barcode", "point_code", "closed_at"} - set(closures.column_names)
    if missing:
        raise InvalidInput(f"closures need the columns {', '.join(sorted(missing))}")
    at, bad_at = reading.parse_timestamps(closures["closed_at"])
    if pc.any(pc.or_(bad_at, at.is_null())).as_py():
        raise InvalidInput("closed_at must be a date and time for every tube")
    rows = pa.table(
        {
            "row": reading.row_numbers(0, closures.num_rows),
            "tube_barcode": reading.text(closures["tube_barcode"]),
            "point_code": reading.text(closures["point_code"]),
            "closed_at": at,
        }
    )
    errors = RowErrors(limit=MAX_ERRORS)
    with tlake.workspace(lake) as con, tlake.testing_lock(lake):
        tlake.view(con, "stored", tlake.SAMPLE_STREAM, lake, round_code)
        tlake.view(con, "closures", tlake.CLOSURE_STREAM, lake, round_code)
        con.register("incoming", rows)
        con.execute(tlake.PROBLEMS)
        con.execute(
            f"""
            INSERT INTO problems
            WITH tubes AS (
                SELECT tube_barcode, max(sampled_at) AS last_sampled,
                    arg_max(point_code, sampled_at) AS last_point,
                    list(DISTINCT point_code ORDER BY point_code) AS points
                FROM stored WHERE tube_barcode IN (SELECT tube_barcode FROM incoming)
                GROUP BY tube_barcode
            ), closed AS (
                SELECT tube_barcode, arg_min(point_code, closed_at) AS point_code
                FROM closures GROUP BY tube_barcode
            )
            SELECT i."row", col, reason, value FROM (
                SELECT i."row", 'tube_barcode' AS col,
                    'tube ' || coalesce(i.tube_barcode, '') || ' has no samples in round '
                        || {tlake.sql_text(round_code)} AS reason, i.tube_barcode AS value
                FROM incoming i ANTI JOIN tubes t USING (tube_barcode)
                UNION ALL
                SELECT i."row", 'point_code',
                    'tube ' || i.tube_barcode || ' was sampled at point '
                        || array_to_string(t.points, ', ') || ', not here',
                    i.point_code
                FROM incoming i JOIN tubes t USING (tube_barcode)
                WHERE NOT list_contains(t.points, i.point_code)
                UNION ALL
                SELECT i."row", 'closed_at',
                    'tube ' || i.tube_barcode || ' has a sample at '
                        || {tlake.local_text("t.last_sampled")} || ', after this closure',
                    {tlake.local_text("i.closed_at")}
                FROM incoming i JOIN tubes t USING (tube_barcode)
                WHERE t.last_sampled > i.closed_at
                UNION ALL
                SELECT i."row", 'point_code',
                    'tube ' || i.tube_barcode || ' was already closed by point ' || c.point_code,
                    i.point_code
                FROM incoming i JOIN closed c USING (tube_barcode)
                WHERE i.point_code IS DISTINCT FROM c.point_code
                UNION ALL
                SELECT i."row", 'point_code',
                    'tube ' || i.tube_barcode || ' is closed by point ' || f.point_code
                        || ' at row ' || f."row" || ' of this batch',
                    i.point_code
                FROM incoming i JOIN (
                    SELECT tube_barcode, arg_min(point_code, "row") AS point_code,
                        min("row") AS "row"
                    FROM incoming GROUP BY tube_barcode
                ) f USING (tube_barcode)
                WHERE i.point_code IS DISTINCT FROM f.point_code
            ) i
            """
        )
        tlake.report_problems(con, errors, staged=False)
        if errors:
            reading.reject(ImportReport(), errors, "closure(s)")
        fresh = (
            "SELECT tube_barcode, point_code, min(closed_at) AS closed_at FROM incoming "
            "WHERE tube_barcode NOT IN (SELECT tube_barcode FROM closures) GROUP BY ALL"
        )
        added = tlake.count(con, f"SELECT count(*) FROM ({fresh})")
        if added:
            target = tlake.CLOSURE_STREAM.new_part(lake, round_code)
            tlake.publish(con, f"{fresh} ORDER BY tube_barcode", target)
    return added
