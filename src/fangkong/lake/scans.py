"""Venue scans as one Ibis table, the same expression on DuckDB and on PySpark."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from fangkong.lake.layout import SCAN_STREAM, SCANS_BY_PERSON, is_compacted

UTC_TIMESTAMP = dt.Timestamp(timezone="UTC", scale=6)
VISITS = ibis.schema(
    {
        "person_id": dt.string,
        "venue_code": dt.string,
        "entered_at": UTC_TIMESTAMP,
        "left_at": UTC_TIMESTAMP,
        "left_at_inferred": dt.boolean,
        "day": dt.date,
    }
)


def visit_files(lake: Path, day: date, *, by: Literal["venue", "person"] = "venue") -> list[Path]:
    """The files holding a day's scans once each: the main copy, or for ``by="person"``
    the person index of the compacted part plus the parts appended since."""
    files = SCAN_STREAM.files(lake, [day])
    if by == "venue":
        return files
    return [*SCANS_BY_PERSON.files(lake, [day]), *(f for f in files if not is_compacted(f))]


def visits(
    con: BaseBackend,
    lake: Path,
    days: list[date] | None = None,
    *,
    by: Literal["venue", "person"] = "venue",
) -> ir.Table:
    """person_id, venue_code, entered_at, left_at (UTC), left_at_inferred (the exit is the
    policy's default stay), day (local day of entry) of the
    given days (default: all). ``by`` picks the copy whose sort order suits the query:
    ``venue`` for who was at these venues, ``person`` for where these persons went."""
    wanted = SCAN_STREAM.days(lake) if days is None else sorted(set(days))
    parts: list[ir.Table] = []
    for day in wanted:
        files = visit_files(lake, day, by=by)
        if not files:
            continue
        raw = _read(con, files)
        parts.append(
            raw.select(
                person_id=raw.person_id.cast(dt.string),
                venue_code=raw.venue_code.cast(dt.string),
                entered_at=raw.entered_at.cast(UTC_TIMESTAMP),
                left_at=raw.left_at.cast(UTC_TIMESTAMP),
                left_at_inferred=raw.left_at_inferred.cast(dt.boolean),
                day=ibis.literal(day, type=dt.date),
            )
        )
    if not parts:
        return ibis.memtable(VISITS.to_pyarrow().empty_table())
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def _read(con: BaseBackend, files: list[Path]) -> ir.Table:
    """Register a list of Parquet files. Ibis's PySpark backend reads one path at a time,
    so the list goes to Spark's reader directly; the query on top is the same."""
    paths = [str(f) for f in files]
    if con.name == "pyspark":
        from ibis import util

        session: Any = con._session
        name = util.gen_name("scans")
        session.read.parquet(*paths).createOrReplaceTempView(name)
        return con.table(name)
    table: ir.Table = con.read_parquet(paths)
    return table
