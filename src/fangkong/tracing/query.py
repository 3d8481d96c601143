"""The co-presence query over the lake of venue scans: Ibis expressions, any engine.

Given the look-back windows of some cases, it finds every visit of a case person inside
its window (clipped to it) and every other person's visit at the same venue whose interval
overlaps it. Only the days the windows touch are read, so day partitions are pruned, and
the joins run on the lake's integer keys (``lake/keys.py``): only the persons and venues
found are decoded. Two steps: the cases' own visits from the person index (executed: a few
thousand rows), then, day by day, the venue-sorted copy joined with those of the visits that
can meet someone who entered that day, which lets the engine skip row groups. Results are
executed to Arrow and made aware UTC there (Spark returns naive UTC timestamps); the
decisions are then made by the pure rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from fangkong.lake import keys
from fangkong.lake.layout import SCAN_STREAM, TIMESTAMP
from fangkong.lake.scans import keyed_scans, keyed_visits, time_bounds, visit_files
from fangkong.tracing.rules import Exposure, days_touched


@dataclass(frozen=True)
class CaseWindow:
    case_no: str
    person_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Visit:
    case_no: str
    venue_code: str
    entered_at: datetime
    left_at: datetime
    left_at_inferred: bool = False


def _days(windows: Sequence[CaseWindow]) -> list[date]:
    days: set[date] = set()
    for w in windows:
        days.update(days_touched(w.start, w.end))
    return sorted(days)


def _stored_days(lake: Path, windows: Sequence[CaseWindow]) -> list[date]:
    stored = set(SCAN_STREAM.days(lake)) if windows else set()
    return [d for d in _days(windows) if d in stored]


def _windows_arrow(windows: Sequence[CaseWindow], person_keys: dict[str, int]) -> pa.Table:
    """The windows of the cases whose person is in the lake, by person key."""
    known = [w for w in windows if w.person_id in person_keys]
    return pa.table(
        {
            "case_no": pa.array([w.case_no for w in known], pa.string()),
            "person_key": pa.array([person_keys[w.person_id] for w in known], pa.int32()),
            "window_start": pa.array([w.start for w in known], TIMESTAMP),
            "window_end": pa.array([w.end for w in known], TIMESTAMP),
        }
    )


def _own(con: BaseBackend, lake: Path, days: list[date], windows: Sequence[CaseWindow]) -> pa.Table:
    """The cases' own visits touching their windows: case_no, case_person (key), venue_key,
    entered_at, left_at, left_at_inferred, and s, e: the visit clipped to the window. The
    engine reads the person index with an explicit list of keys, which lets it skip the row
    groups of everyone else (a few thousand rows come back); the clipping to each case's
    window is then done on those rows in Arrow, a join of a few thousand rows that costs
    less than planning it in the engine."""
    person_keys = keys.encode(lake, keys.PERSON, (w.person_id for w in windows))
    table = _windows_arrow(windows, person_keys)
    if not table.num_rows:
        return _EMPTY_OWN
    scans = keyed_scans(con, lake, days, by="person")
    found = scans.filter(scans.person_key.isin(sorted(set(person_keys.values())))).to_pyarrow()
    # Spark returns naive UTC: make every timestamp aware UTC before comparing.
    found = found.set_column(2, "entered_at", found["entered_at"].cast(TIMESTAMP))
    found = found.set_column(3, "left_at", found["left_at"].cast(TIMESTAMP))
    joined = found.join(table, "person_key")
    # (max/min_element_wise have no timestamp kernels)
    entered, start = joined["entered_at"], joined["window_start"]
    left, end = joined["left_at"], joined["window_end"]
    own = pa.table(
        {
            "case_no": joined["case_no"],
            "case_person": joined["person_key"],
            "venue_key": joined["venue_key"],
            "entered_at": entered,
            "left_at": left,
            "left_at_inferred": joined["left_at_inferred"],
            "s": pc.if_else(pc.greater(entered, start), entered, start),
            "e": pc.if_else(pc.less(left, end), left, end),
        },
        schema=_EMPTY_OWN.schema,
    )
    return own.filter(pc.less(own["s"], own["e"]))


_EMPTY_OWN = pa.schema(
    [
        ("case_no", pa.string()),
        ("case_person", pa.int32()),
        ("venue_key", pa.int32()),
        ("entered_at", TIMESTAMP),
        ("left_at", TIMESTAMP),
        ("left_at_inferred", pa.bool_()),
        ("s", TIMESTAMP),
        ("e", TIMESTAMP),
    ]
).empty_table()


def co_present(con: BaseBackend, lake: Path, days: list[date], own: pa.Table) -> ibis.Table | None:
    """Others' co-presence with the clipped visits ``own`` (case_no, person_key, venue_key,
    overlap_start, overlap_end): day by day, the venue-sorted copy joined with the visits
    that can meet someone who entered that day (not one that ends before the day's first
    entry or starts after its last exit, from the files' statistics), as a small in-memory
    table. On DuckDB the join hands its few hundred venue keys to the scan as a filter
    (``lake/engine.py``), and the row groups whose venue range holds none of them are never
    read; one join over all days would carry every day's venues to every day. None when no
    day can hold a co-presence."""
    clipped = own.select(["case_no", "case_person", "venue_key", "s", "e"])
    parts: list[ibis.Table] = []
    for day in days:
        files = visit_files(lake, day, by="venue")
        if not files:
            continue
        relevant = clipped
        bounds = time_bounds(files)
        if bounds is not None:
            first_entry, last_exit = bounds
            relevant = clipped.filter(
                pc.and_(
                    pc.greater(clipped["e"], pa.scalar(first_entry, TIMESTAMP)),
                    pc.less(clipped["s"], pa.scalar(last_exit, TIMESTAMP)),
                )
            )
        if relevant.num_rows:
            parts.append(_co_present_day(keyed_visits(con, lake, [day], by="venue"), relevant))
    if not parts:
        return None
    pairs = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return pairs.distinct()


def _co_present_day(scans: ibis.Table, own: pa.Table) -> ibis.Table:
    # Distinct names on the other side keep the self-join unambiguous for every backend.
    other = scans.select(
        o_person=scans.person_key,
        o_venue=scans.venue_key,
        o_entered=scans.entered_at,
        o_left=scans.left_at,
    )
    clipped = ibis.memtable(own)
    pairs = clipped.join(
        other,
        [
            clipped.venue_key == other.o_venue,
            other.o_entered < clipped.e,
            other.o_left > clipped.s,
            other.o_person != clipped.case_person,
        ],
    )
    return pairs.select(
        pairs.case_no,
        person_key=pairs.o_person,
        venue_key=pairs.venue_key,
        overlap_start=ibis.greatest(pairs.s, pairs.o_entered),
        overlap_end=ibis.least(pairs.e, pairs.o_left),
    )


def exposures(
    con: BaseBackend, lake: Path, windows: Sequence[CaseWindow]
) -> dict[str, list[Exposure]]:
    """Co-presence per case number, in two small steps: where the cases went, then who
    else was at those venues then."""
    result: dict[str, list[Exposure]] = {w.case_no: [] for w in windows}
    days = _stored_days(lake, windows)
    if not days:
        return result
    own = _own(con, lake, days, windows)
    found = co_present(con, lake, days, own) if own.num_rows else None
    if found is None:
        return result
    raw = found.to_pyarrow()
    # Column-wise: the keys decoded, the timestamps made aware UTC and the rows put in
    # order by Arrow, so that Python only builds the exposures.
    table = pa.table(
        {
            "case_no": raw["case_no"],
            "person_id": keys.decode(lake, keys.PERSON, raw["person_key"]),
            "venue_code": keys.decode(lake, keys.VENUE, raw["venue_key"]),
            "overlap_start": raw["overlap_start"].cast(TIMESTAMP),
            "overlap_end": raw["overlap_end"].cast(TIMESTAMP),
        }
    ).sort_by([(name, "ascending") for name in ("case_no", *_EXPOSURE_ORDER)])
    columns = [
        table["case_no"].to_pylist(),
        table["person_id"].to_pylist(),
        table["venue_code"].to_pylist(),
        _datetimes(table["overlap_start"]),
        _datetimes(table["overlap_end"]),
    ]
    for case_no, person_id, venue_code, start, end in zip(*columns, strict=True):
        result[case_no].append(Exposure(person_id, venue_code, start, end))
    return result


# The exposures of a case in time order (then by person, venue, end: a stable order).
_EXPOSURE_ORDER = ("overlap_start", "person_id", "venue_code", "overlap_end")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetimes(column: pa.ChunkedArray) -> list[datetime]:
    """Aware UTC datetimes of a UTC timestamp column: from the microseconds, six times
    faster than Arrow's conversion through a time-zone object (thousands per trace)."""
    micros = column.cast(TIMESTAMP).cast(pa.int64()).to_pylist()
    return [_EPOCH + timedelta(microseconds=us) for us in micros]


def timeline(con: BaseBackend, lake: Path, windows: Sequence[CaseWindow]) -> dict[str, list[Visit]]:
    """The case's own visits touching its window, in time order, per case number."""
    result: dict[str, list[Visit]] = {w.case_no: [] for w in windows}
    days = _stored_days(lake, windows)
    if not days:
        return result
    own = _own(con, lake, days, windows)
    columns = [
        own["case_no"].to_pylist(),
        keys.decode(lake, keys.VENUE, own["venue_key"]).to_pylist(),
        _datetimes(own["entered_at"]),
        _datetimes(own["left_at"]),
        own["left_at_inferred"].to_pylist(),
    ]
    for case_no, venue_code, entered, left, inferred in zip(*columns, strict=True):
        result[case_no].append(Visit(case_no, venue_code, entered, left, bool(inferred)))
    for visits_of in result.values():
        visits_of.sort(key=lambda v: (v.entered_at, v.venue_code))
    return result
