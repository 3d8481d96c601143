"""Venue scans as one Ibis table, the same expression on DuckDB and on PySpark: keyed as
stored (``keyed_visits``, for the tracing joins) or with the ids (``visits``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from weakref import WeakKeyDictionary

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from fangkong.lake import keys
from fangkong.lake.layout import SCAN_STREAM, SCANS_BY_PERSON, is_compacted, require_keyed

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
KEYED_VISITS = ibis.schema(
    {
        "person_key": dt.int32,
        "venue_key": dt.int32,
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


def keyed_visits(
    con: BaseBackend,
    lake: Path,
    days: list[date] | None = None,
    *,
    by: Literal["venue", "person"] = "venue",
) -> ir.Table:
    """person_key, venue_key (the lake's dictionary keys, ``lake/keys.py``), entered_at,
    left_at (UTC), left_at_inferred (the exit is the policy's default stay), day (local day
    of entry) of the given days (default: all). ``by`` picks the copy whose sort order suits
    the query: ``venue`` for who was at these venues, ``person`` for where these persons
    went. The tracing joins run on these columns and decode the few keys they return."""
    wanted = SCAN_STREAM.days(lake) if days is None else sorted(set(days))
    parts: list[ir.Table] = []
    for day in wanted:
        files = visit_files(lake, day, by=by)
        if files:
            require_keyed(files)
            typed = _typed(_read(con, files))
            parts.append(typed.mutate(day=ibis.literal(day, type=dt.date)))
    if not parts:
        return ibis.memtable(KEYED_VISITS.to_pyarrow().empty_table())
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def keyed_scans(
    con: BaseBackend, lake: Path, days: list[date], *, by: Literal["venue", "person"] = "venue"
) -> ir.Table:
    """``keyed_visits`` without the day: the files of those days as one table, which an
    engine scans in one pass (a third faster than a union of days for a lookup by person
    across a week). Nothing when those days hold no scans."""
    files = [f for day in sorted(set(days)) for f in visit_files(lake, day, by=by)]
    if not files:
        return ibis.memtable(KEYED_VISITS.to_pyarrow().empty_table()).drop("day")
    require_keyed(files)
    return _typed(_read(con, files))


def _typed(raw: ir.Table) -> ir.Table:
    """The stored columns with the types both engines agree on (Spark may read the
    timestamps without their time zone)."""
    return raw.select(
        person_key=raw.person_key.cast(dt.int32),
        venue_key=raw.venue_key.cast(dt.int32),
        entered_at=raw.entered_at.cast(UTC_TIMESTAMP),
        left_at=raw.left_at.cast(UTC_TIMESTAMP),
        left_at_inferred=raw.left_at_inferred.cast(dt.boolean),
    )


def visits(
    con: BaseBackend,
    lake: Path,
    days: list[date] | None = None,
    *,
    by: Literal["venue", "person"] = "venue",
) -> ir.Table:
    """``keyed_visits`` with the ids in place of the keys: person_id, venue_code,
    entered_at, left_at, left_at_inferred, day. For reading the lake as it was written;
    the dictionaries are joined in the engine."""
    keyed = keyed_visits(con, lake, days, by=by)
    person_files, venue_files = keys.files(lake, keys.PERSON), keys.files(lake, keys.VENUE)
    if not person_files or not venue_files:
        return ibis.memtable(VISITS.to_pyarrow().empty_table())
    persons, venues = _read(con, person_files), _read(con, venue_files)
    persons = persons.select(p_key=persons.key, person_id=persons.value)
    venues = venues.select(v_key=venues.key, venue_code=venues.value)
    joined = keyed.join(persons, keyed.person_key == persons.p_key).join(
        venues, keyed.venue_key == venues.v_key
    )
    return joined.select(*VISITS.names)


# The tables registered per connection and file list. A visible lake file never changes (it
# appears by rename and is only ever removed), so a list read once can be read again without
# registering it anew: that costs ~20 ms a day on DuckDB, seconds on Spark.
_REGISTERED: WeakKeyDictionary[BaseBackend, dict[tuple[str, ...], ir.Table]] = WeakKeyDictionary()
_REGISTERED_MAX = 256


def _read(con: BaseBackend, files: list[Path]) -> ir.Table:
    """Register a list of Parquet files. Ibis's PySpark backend reads one path at a time,
    so the list goes to Spark's reader directly; the query on top is the same."""
    paths = tuple(str(f) for f in files)
    registered = _REGISTERED.setdefault(con, {})
    if paths in registered:
        return registered[paths]
    table: ir.Table
    if con.name == "pyspark":
        from ibis import util

        session: Any = con._session
        name = util.gen_name("scans")
        session.read.parquet(*paths).createOrReplaceTempView(name)
        table = con.table(name)
    else:
        table = con.read_parquet(list(paths))
    if len(registered) >= _REGISTERED_MAX:
        registered.pop(next(iter(registered)))
    registered[paths] = table
    return table


def time_bounds(files: list[Path]) -> tuple[datetime, datetime] | None:
    """(earliest entered_at, latest left_at) of the scans in these files, from the Parquet
    footers' statistics alone; None when a file lacks them. A day's latest exit tells which
    of the cases' visits could overlap anyone who entered that day."""
    bounds = [_file_time_bounds(str(f), f.stat().st_mtime_ns) for f in files]
    if not bounds or any(b is None for b in bounds):
        return None
    known = [b for b in bounds if b is not None]
    return min(b[0] for b in known), max(b[1] for b in known)


@lru_cache(maxsize=4096)
def _file_time_bounds(path: str, mtime_ns: int) -> tuple[datetime, datetime] | None:
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    entered, left = names.index("entered_at"), names.index("left_at")
    lows: list[datetime] = []
    highs: list[datetime] = []
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if group.num_rows == 0:
            continue
        low, high = group.column(entered).statistics, group.column(left).statistics
        if low is None or high is None or not (low.has_min_max and high.has_min_max):
            return None
        lows.append(_aware(low.min))
        highs.append(_aware(high.max))
    if not lows:
        return None
    return min(lows), max(highs)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
