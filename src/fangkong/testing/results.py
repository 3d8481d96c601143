"""Lab results of a round: one result per tube (采样管), negative, positive or invalid.

From a lab's FHIR Bundle (``fhir.parse_bundle`` gives ``LabResult`` rows), or from a CSV or
Parquet file with the columns ``tube_barcode, result, lab, resulted_at`` and optionally
``ct_orf1ab, ct_n`` (headers also 采样管码 or 试管编码, 检测结果, 检测机构, 报告时间, ORF1ab
Ct, N Ct). A result is ``negative``, ``positive`` or ``invalid`` (also 阴性, 阳性, 无效);
``resulted_at`` is ISO 8601 with a date and a time of day, Asia/Shanghai time without an
offset; a Ct value is a number of cycles, zero or more.

Rows are checked like samples (``samples.py``): field by field per chunk, then against the
round in DuckDB under the testing lock. Row errors (header = row 1; for a sequence of
``LabResult`` the n-th result is row n):

- a tube with no samples in the round: a barcode misread or a result for another round;
- a result earlier than the tube's first sample;
- a different result for a tube that already has one, stored or earlier in the input.

Why a result is never changed: the result of a tube has already been acted on — a positive
pool has put its members under control and sent them to single-tube re-sampling, a negative
has cleared them. A lab that finds a tube was misread does not edit it; the persons are
sampled again (a new tube, a retest round), and the new tube's result supersedes the old by
its sampling time (``pooling.person_state``). So the first result of a tube stands, the same
result again is skipped (a lab that sends a batch twice changes nothing), and a different
one is refused.

All or nothing, as for samples; the new results become one part file of the round.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from fangkong.errors import InvalidInput
from fangkong.lake import reading
from fangkong.lake.reading import Chunk, Progress, RowErrors
from fangkong.tabular import Column, ImportReport
from fangkong.testing import lake as tlake
from fangkong.testing.fhir import LabResult, TubeResult

COLUMNS = [
    Column("tube_barcode", "采样管码", required=True, aliases=("试管编码", "试管码", "采样管编码")),
    Column("result", "检测结果", required=True, aliases=("结果",)),
    Column("lab", "检测机构", required=True, aliases=("实验室", "检测实验室")),
    Column("resulted_at", "报告时间", required=True, aliases=("结果时间", "检测时间")),
    Column("ct_orf1ab", "ORF1ab Ct", aliases=("orf1ab", "ORF1ab基因Ct")),
    Column("ct_n", "N Ct", aliases=("N基因Ct",)),
]
MAX_ERRORS = reading.MAX_ERRORS
BATCH_ROWS = reading.BATCH_ROWS
RESULT_TEXTS: dict[str, TubeResult] = {
    "negative": TubeResult.NEGATIVE,
    "positive": TubeResult.POSITIVE,
    "invalid": TubeResult.INVALID,
    "阴性": TubeResult.NEGATIVE,
    "阳性": TubeResult.POSITIVE,
    "无效": TubeResult.INVALID,
}
_BAD_RESULT = "result must be negative, positive or invalid (阴性, 阳性, 无效)"
_NO_DATE = "resulted_at has a time of day but no date (e.g. 2022-04-04T18:30:00)"
_NO_TIME = "resulted_at has a date but no time of day (e.g. 2022-04-04T18:30:00)"
_UTC = pa.timestamp("us", tz="UTC")
_INCOMING = """
CREATE TEMP TABLE incoming (
    "row" BIGINT, tube_barcode VARCHAR, result VARCHAR, lab VARCHAR,
    resulted_at TIMESTAMPTZ, ct_orf1ab DOUBLE, ct_n DOUBLE, ok BOOLEAN
)
"""


@dataclass(frozen=True)
class ResultImportReport:
    """What an import of results did."""

    round_code: str
    rows: int  # read
    added: int  # tubes with a new result
    duplicates: int  # the same result again (stored, or earlier in the input), skipped
    positive: int  # of the added
    invalid: int  # of the added
    seconds: float
    file: Path | None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def import_results(
    lake: Path,
    round_code: str,
    results: Sequence[LabResult] | Path,
    *,
    source: str,
    progress: Progress | None = None,
) -> ResultImportReport:
    """Check every result, then append the new ones to the round's tube results; raise
    ``ImportRejected`` on any bad row, writing nothing. ``source`` names where the results
    came from (a file, a lab's feed) and is stored with each."""
    tlake.check_round_code(round_code)
    if not source.strip():
        raise InvalidInput("source must name where the results came from")
    errors = RowErrors(limit=MAX_ERRORS)
    chunks: Iterable[Chunk]
    if isinstance(results, Path):
        chunks = reading.chunks(results, results.name, COLUMNS, errors, batch_rows=BATCH_ROWS)
    else:
        chunks = _result_chunks(results)
    return _import(lake, round_code, chunks, errors, source.strip(), progress)


def _result_chunks(results: Sequence[LabResult]) -> Iterator[Chunk]:
    """``LabResult`` rows as typed chunks; the n-th result is row n."""
    for start in range(0, len(results), BATCH_ROWS):
        part = results[start : start + BATCH_ROWS]
        table = pa.table(
            {
                "tube_barcode": pa.array([r.tube_barcode for r in part], pa.string()),
                "result": pa.array([str(r.result) for r in part], pa.string()),
                "lab": pa.array([r.lab for r in part], pa.string()),
                "resulted_at": pa.array([r.resulted_at for r in part], _UTC),
                "ct_orf1ab": pa.array([r.ct_orf1ab for r in part], pa.float64()),
                "ct_n": pa.array([r.ct_n for r in part], pa.float64()),
            }
        )
        yield Chunk(table, start + 1)


def _import(
    lake: Path,
    round_code: str,
    chunks: Iterable[Chunk],
    errors: RowErrors,
    source: str,
    progress: Progress | None,
) -> ResultImportReport:
    started = time.perf_counter()
    with tlake.workspace(lake) as con:
        con.execute(_INCOMING)
        rows = 0
        for chunk in chunks:
            con.register("chunk", _check_chunk(chunk, errors))
            con.execute("INSERT INTO incoming SELECT * FROM chunk")
            con.unregister("chunk")
            rows += chunk.table.num_rows
            if progress is not None:
                progress(rows)
        with tlake.testing_lock(lake):
            tlake.remove_stale(lake)
            tlake.view(con, "samples", tlake.SAMPLE_STREAM, lake, round_code)
            tlake.view(con, "stored", tlake.RESULT_STREAM, lake, round_code)
            _check_across(con, round_code, errors)
            if errors:
                reading.reject(ImportReport(), errors)
            # The first row of each tube not stored yet; everything else repeats a result.
            con.execute(
                'CREATE TEMP TABLE fresh AS SELECT * EXCLUDE ("row", ok) FROM incoming '
                'WHERE "row" IN (SELECT first_row FROM firsts) '
                "AND tube_barcode NOT IN (SELECT tube_barcode FROM stored)"
            )
            found = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE result = 'positive'), "
                "count(*) FILTER (WHERE result = 'invalid') FROM fresh"
            ).fetchone()
            added, positive, invalid = (int(v) for v in found) if found else (0, 0, 0)
            written: Path | None = None
            if added:
                written = tlake.RESULT_STREAM.new_part(lake, round_code)
                tlake.publish(
                    con,
                    "SELECT tube_barcode, result, lab, resulted_at, ct_orf1ab, ct_n, "
                    f"{tlake.sql_text(source)} AS source FROM fresh ORDER BY tube_barcode",
                    written,
                )
    return ResultImportReport(
        round_code=round_code,
        rows=rows,
        added=added,
        duplicates=rows - added,
        positive=positive,
        invalid=invalid,
        seconds=time.perf_counter() - started,
        file=written,
    )


# ---------------------------------------------------------------------------- a chunk


def _check_chunk(chunk: Chunk, errors: RowErrors) -> pa.Table:
    """The chunk as staged rows (bad values null), its bad rows added to ``errors``."""
    table, first_row = chunk.table, chunk.first_row
    n = table.num_rows
    tube = reading.text(table["tube_barcode"])
    result_text = reading.text(table["result"])
    keys = pa.array(list(RESULT_TEXTS), pa.string())
    canonical = pa.array([str(v) for v in RESULT_TEXTS.values()], pa.string())
    result = pc.take(canonical, pc.index_in(pc.utf8_lower(result_text), value_set=keys))
    unknown = pc.and_(result_text.is_valid(), result.is_null())
    lab = reading.text(table["lab"])
    raw_at = table["resulted_at"]
    resulted_at, bad_at = reading.parse_timestamps(raw_at)
    no_date, no_time = reading.timestamp_shapes(raw_at)
    bad_at = pc.and_(bad_at, pc.invert(no_date))
    empty_at = pc.and_(resulted_at.is_null(), pc.invert(pc.or_(bad_at, no_date)))
    orf1ab, bad_orf1ab = _ct(table, "ct_orf1ab")
    n_gene, bad_n = _ct(table, "ct_n")

    checks: list[reading.Check] = [
        (tube.is_null(), "tube_barcode", lambda _: "tube_barcode is empty", None),
        (result_text.is_null(), "result", lambda _: "result is empty", None),
        (unknown, "result", lambda _: _BAD_RESULT, result_text),
        (lab.is_null(), "lab", lambda _: "lab is empty", None),
        (empty_at, "resulted_at", lambda _: "resulted_at is empty", None),
        (no_date, "resulted_at", lambda _: _NO_DATE, raw_at),
        (no_time, "resulted_at", lambda _: _NO_TIME, raw_at),
        (bad_at, "resulted_at", lambda _: reading.BAD_TIME, raw_at),
    ]
    if bad_orf1ab is not None:
        checks.append((bad_orf1ab, "ct_orf1ab", lambda _: _BAD_CT, table["ct_orf1ab"]))
    if bad_n is not None:
        checks.append((bad_n, "ct_n", lambda _: _BAD_CT, table["ct_n"]))
    reading.report_checks(checks, first_row, errors)
    bad = checks[0][0]
    for mask, _, _, _ in checks[1:]:
        bad = pc.or_(bad, mask)
    at = pc.if_else(pc.or_(no_time, no_date), pa.scalar(None, _UTC), resulted_at)
    return pa.table(
        {
            "row": reading.row_numbers(first_row, n),
            "tube_barcode": tube,
            "result": result,
            "lab": lab,
            "resulted_at": at,
            "ct_orf1ab": orf1ab,
            "ct_n": n_gene,
            "ok": pc.invert(bad),
        }
    )


_BAD_CT = "a Ct value is a number of cycles, 0 or more"


def _ct(table: pa.Table, name: str) -> tuple[pa.Array, pa.Array | None]:
    """A Ct column as float64 (null when empty or bad) and its mask of bad values (None
    when the column is absent)."""
    n = table.num_rows
    if name not in table.column_names:
        return pa.nulls(n, pa.float64()), None
    values = table[name].combine_chunks()
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        number = values.cast(pa.float64())
    else:
        values = reading.text(values)
        numeric = pc.fill_null(pc.match_substring_regex(values, r"^\d{1,6}(\.\d+)?$"), False)
        number = pc.if_else(numeric, values, None).cast(pa.float64())
        bad = pc.and_(values.is_valid(), pc.invert(numeric))
        return number, bad
    bad = pc.fill_null(pc.or_(pc.less(number, 0.0), pc.is_nan(number)), False)
    return pc.if_else(bad, None, number), bad


# ---------------------------------------------------------------------------- across rows


def _check_across(con: duckdb.DuckDBPyConnection, round_code: str, errors: RowErrors) -> None:
    """Checks against the round's samples and stored results, and between the input's rows;
    leaves ``firsts`` (each tube's first row in the input) behind."""
    con.execute(tlake.PROBLEMS)
    con.execute(
        """
        CREATE TEMP TABLE round_tubes AS
        SELECT tube_barcode, min(sampled_at) AS first_sampled FROM samples
        WHERE tube_barcode IN (SELECT tube_barcode FROM incoming) GROUP BY tube_barcode
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE firsts AS
        SELECT tube_barcode, min("row") AS first_row, arg_min(result, "row") AS result
        FROM incoming WHERE tube_barcode IS NOT NULL AND result IS NOT NULL
        GROUP BY tube_barcode
        """
    )
    code = tlake.sql_text(round_code)
    con.execute(
        f"""
        INSERT INTO problems
        SELECT i."row", 'tube_barcode',
            'tube ' || i.tube_barcode || ' has no samples in round ' || {code},
            i.tube_barcode
        FROM incoming i ANTI JOIN round_tubes t USING (tube_barcode)
        WHERE i.tube_barcode IS NOT NULL;

        INSERT INTO problems
        SELECT i."row", 'resulted_at',
            'tube ' || i.tube_barcode || ' was first sampled at '
                || {tlake.local_text("t.first_sampled")} || ', after this result',
            {tlake.local_text("i.resulted_at")}
        FROM incoming i JOIN round_tubes t USING (tube_barcode)
        WHERE i.resulted_at < t.first_sampled;

        INSERT INTO problems
        SELECT i."row", 'result',
            'tube ' || i.tube_barcode || ' has result ' || f.result || ' at row '
                || f.first_row || '; a result is not corrected: sample the persons again',
            i.result
        FROM incoming i JOIN firsts f USING (tube_barcode)
        WHERE i.result <> f.result;

        INSERT INTO problems
        SELECT i."row", 'result',
            'tube ' || i.tube_barcode || ' already has result ' || s.result || ' from '
                || s.lab || ' at ' || {tlake.local_text("s.resulted_at")}
                || '; a result is not corrected: sample the persons again',
            i.result
        FROM incoming i JOIN stored s USING (tube_barcode)
        WHERE i.result <> s.result;
        """
    )
    tlake.report_problems(con, errors)


# ---------------------------------------------------------------------------- reading


def tube_results(lake: Path, round_code: str, barcodes: Iterable[str]) -> pa.Table:
    """The stored results of some tubes of a round (``tube_barcode, result, resulted_at``),
    read with Arrow: for the few tubes a caller follows (a quarantine site's day), not a
    city's round."""
    wanted = sorted(set(barcodes))
    files = tlake.RESULT_STREAM.files(lake, round_code)
    columns = ["tube_barcode", "result", "resulted_at"]
    if not wanted or not files:
        return tlake.TUBE_RESULTS.empty_table().select(columns)
    found = ds.dataset(files, schema=tlake.TUBE_RESULTS, format="parquet")
    return found.to_table(columns=columns, filter=pc.field("tube_barcode").isin(wanted))
