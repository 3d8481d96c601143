"""The co-presence query over the lake of venue scans: Ibis expressions, any engine.

Given the look-back windows of some cases, it finds every visit of a case person inside
its window (clipped to it) and every other person's visit at the same venue whose interval
overlaps it. Only the days the windows touch are read, so day partitions are pruned.
``exposures`` runs in two steps, the cases' own visits from the person index (executed:
a few thousand rows), then, day by day, the venue-sorted copy joined with those of the
visits that can meet someone who entered that day, which lets the engine skip row groups;
``build`` is the same as one expression (``timeline`` uses it). Results
are executed to Arrow and made aware UTC there (Spark returns naive UTC timestamps); the
decisions are then made by the pure rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from fangkong.lake.layout import SCAN_STREAM, TIMESTAMP
from fangkong.lake.scans import time_bounds, visit_files, visits
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


def read_visits(
    con: BaseBackend, lake: Path, windows: Sequence[CaseWindow]
) -> tuple[ibis.Table, ibis.Table] | None:
    """The scans of the days the windows touch, twice: in the lake's person-sorted copy
    (where the cases went) and its venue-sorted copy (who else was there), so that each
    side of the join prunes row groups by its own key. None when those days are empty."""
    stored = set(SCAN_STREAM.days(lake))
    days = [d for d in _days(windows) if d in stored]
    if not days:
        return None
    return visits(con, lake, days, by="person"), visits(con, lake, days, by="venue")


def windows_table(windows: Sequence[CaseWindow]) -> ibis.Table:
    return ibis.memtable(_windows_arrow(windows))


def build(
    case_visits: ibis.Table, venue_visits: ibis.Table, windows: ibis.Table
) -> tuple[ibis.Table, ibis.Table]:
    """(exposures, timeline): co-presence of others with each case inside its window
    (case_no, person_id, venue_code, overlap_start, overlap_end), and the case's own
    visits that touch the window (case_no, venue_code, entered_at, left_at).
    ``case_visits`` and ``venue_visits`` hold the same scans (in different orders)."""
    own = case_visits.join(
        windows,
        [
            case_visits.person_id == windows.person_id,
            case_visits.entered_at < windows.window_end,
            case_visits.left_at > windows.window_start,
        ],
    )
    timeline = own.select(
        own.case_no,
        own.venue_code,
        entered_at=own.entered_at,
        left_at=own.left_at,
        left_at_inferred=own.left_at_inferred,
    )
    clipped = own.select(
        own.case_no,
        case_person=own.person_id,
        venue_code=own.venue_code,
        s=ibis.greatest(own.entered_at, own.window_start),
        e=ibis.least(own.left_at, own.window_end),
    )
    # Also closes the first join, so that the second is a join of its own.
    clipped = clipped.filter(clipped.s < clipped.e)
    # Distinct names on the other side keep the self-join unambiguous for every backend.
    other = venue_visits.select(
        o_person=venue_visits.person_id,
        o_venue=venue_visits.venue_code,
        o_entered=venue_visits.entered_at,
        o_left=venue_visits.left_at,
    )
    pairs = clipped.join(
        other,
        [
            clipped.venue_code == other.o_venue,
            other.o_entered < clipped.e,
            other.o_left > clipped.s,
            other.o_person != clipped.case_person,
        ],
    )
    exposures = pairs.select(
        pairs.case_no,
        person_id=pairs.o_person,
        venue_code=pairs.venue_code,
        overlap_start=ibis.greatest(pairs.s, pairs.o_entered),
        overlap_end=ibis.least(pairs.e, pairs.o_left),
    ).distinct()
    return exposures, timeline


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _rows(expr: ibis.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def _days(windows: Sequence[CaseWindow]) -> list[date]:
    days: set[date] = set()
    for w in windows:
        days.update(days_touched(w.start, w.end))
    return sorted(days)


def _own_clipped(
    con: BaseBackend, lake: Path, days: list[date], windows: Sequence[CaseWindow]
) -> pa.Table:
    """The cases' own visits clipped to their windows (case_no, case_person, venue_code,
    s, e). The engine reads the person index with an explicit person list, which lets it
    skip the row groups of everyone else (a few thousand rows come back); the clipping to
    each case's window is then done on those rows in Arrow, a join of a few thousand rows
    that costs less than planning it in the engine."""
    scans = visits(con, lake, days, by="person")
    scans = scans.filter(scans.person_id.isin(sorted({w.person_id for w in windows})))
    # Spark returns naive UTC: make every timestamp aware UTC before comparing.
    found = scans.select("person_id", "venue_code", "entered_at", "left_at").to_pyarrow()
    found = found.set_column(2, "entered_at", found["entered_at"].cast(TIMESTAMP))
    found = found.set_column(3, "left_at", found["left_at"].cast(TIMESTAMP))
    joined = found.join(_windows_arrow(windows), "person_id")
    # (max/min_element_wise have no timestamp kernels)
    entered, start = joined["entered_at"], joined["window_start"]
    left, end = joined["left_at"], joined["window_end"]
    s = pc.if_else(pc.greater(entered, start), entered, start)
    e = pc.if_else(pc.less(left, end), left, end)
    clipped = pa.table(
        {
            "case_no": joined["case_no"],
            "case_person": joined["person_id"],
            "venue_code": joined["venue_code"],
            "s": s,
            "e": e,
        }
    )
    return clipped.filter(pc.less(clipped["s"], clipped["e"]))


def _windows_arrow(windows: Sequence[CaseWindow]) -> pa.Table:
    return pa.table(
        {
            "case_no": pa.array([w.case_no for w in windows], pa.string()),
            "person_id": pa.array([w.person_id for w in windows], pa.string()),
            "window_start": pa.array([w.start for w in windows], TIMESTAMP),
            "window_end": pa.array([w.end for w in windows], TIMESTAMP),
        }
    )


def co_present(con: BaseBackend, lake: Path, days: list[date], own: pa.Table) -> ibis.Table | None:
    """Others' co-presence with the clipped visits ``own`` (the exposures of ``build``):
    day by day, the venue-sorted copy joined with the visits that can meet someone who
    entered that day (not one that ends before the day's first entry or starts after its
    last exit, from the files' statistics), as a small in-memory table. On DuckDB the join
    hands its few hundred venue codes to the scan as a filter (``lake/engine.py``), and the
    row groups whose venue range holds none of them are never read; one join over all days
    would carry every day's venues to every day. None when no day can hold a co-presence."""
    parts: list[ibis.Table] = []
    for day in days:
        files = visit_files(lake, day, by="venue")
        if not files:
            continue
        relevant = own
        bounds = time_bounds(files)
        if bounds is not None:
            first_entry, last_exit = bounds
            relevant = own.filter(
                pc.and_(
                    pc.greater(own["e"], pa.scalar(first_entry, TIMESTAMP)),
                    pc.less(own["s"], pa.scalar(last_exit, TIMESTAMP)),
                )
            )
        if relevant.num_rows:
            parts.append(_co_present_day(visits(con, lake, [day], by="venue"), relevant))
    if not parts:
        return None
    pairs = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return pairs.distinct()


def _co_present_day(scans: ibis.Table, own: pa.Table) -> ibis.Table:
    other = scans.select(
        o_person=scans.person_id,
        o_venue=scans.venue_code,
        o_entered=scans.entered_at,
        o_left=scans.left_at,
    )
    clipped = ibis.memtable(own)
    pairs = clipped.join(
        other,
        [
            clipped.venue_code == other.o_venue,
            other.o_entered < clipped.e,
            other.o_left > clipped.s,
            other.o_person != clipped.case_person,
        ],
    )
    return pairs.select(
        pairs.case_no,
        person_id=pairs.o_person,
        venue_code=pairs.venue_code,
        overlap_start=ibis.greatest(pairs.s, pairs.o_entered),
        overlap_end=ibis.least(pairs.e, pairs.o_left),
    )


def exposures(
    con: BaseBackend, lake: Path, windows: Sequence[CaseWindow]
) -> dict[str, list[Exposure]]:
    """Co-presence per case number, in two small steps: where the cases went, then who
    else was at those venues then."""
    result: dict[str, list[Exposure]] = {w.case_no: [] for w in windows}
    stored = set(SCAN_STREAM.days(lake)) if windows else set()
    days = [d for d in _days(windows) if d in stored]
    if not days:
        return result
    own = _own_clipped(con, lake, days, windows)
    found = co_present(con, lake, days, own) if own.num_rows else None
    if found is None:
        return result
    table = found.to_pyarrow()
    # Column-wise, with the timestamps made aware UTC by Arrow rather than row by row.
    columns = [table[name].to_pylist() for name in ("case_no", "person_id", "venue_code")] + [
        table[name].cast(TIMESTAMP).to_pylist() for name in ("overlap_start", "overlap_end")
    ]
    for case_no, person_id, venue_code, start, end in zip(*columns, strict=True):
        result[case_no].append(Exposure(person_id, venue_code, start, end))
    for found in result.values():
        found.sort(key=lambda e: (e.overlap_start, e.person_id, e.venue_code, e.overlap_end))
    return result


def timeline(con: BaseBackend, lake: Path, windows: Sequence[CaseWindow]) -> dict[str, list[Visit]]:
    """The case's own visits touching its window, in time order, per case number."""
    result: dict[str, list[Visit]] = {w.case_no: [] for w in windows}
    tables = read_visits(con, lake, windows) if windows else None
    if tables is None:
        return result
    _, expr = build(*tables, windows_table(windows))
    for row in _rows(expr):
        result[row["case_no"]].append(
            Visit(
                case_no=row["case_no"],
                venue_code=row["venue_code"],
                entered_at=_utc(row["entered_at"]),
                left_at=_utc(row["left_at"]),
                left_at_inferred=bool(row["left_at_inferred"]),
            )
        )
    for visits_of in result.values():
        visits_of.sort(key=lambda v: (v.entered_at, v.venue_code))
    return result
