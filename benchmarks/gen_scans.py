"""Synthetic venue scans at city scale, written straight into a lake directory by DuckDB.

    python benchmarks/gen_scans.py --out /tmp/fangkong-bench/70m --persons 1000000 --days 7
    python benchmarks/gen_scans.py --out /tmp/fangkong-bench/700m --persons 5000000 --days 14

Writes, under ``--out`` (a fangkong home):

- ``lake/scans/day=YYYY-MM-DD/compact-<id>.parquet``: one file per local (Asia/Shanghai)
  day, the STORED_SCANS schema (person and venue keys), sorted by (venue_key, entered_at) in
  row groups of ``--row-group`` rows, and ``lake/scans_by_person/day=…/compact-<id>.parquet``,
  the same rows sorted by (person_key, entered_at) in row groups of ``--person-row-group``,
  with the dictionaries ``lake/keys/{person,venue}/`` (person p has key p): the layout of a day
  compacted by ``lake/writer.py`` (``--no-person-index`` leaves the second copy out;
  ``--index-only`` adds it to a lake generated without it). Each file is written under a
  ``_``-prefixed name and renamed, so a reader never sees a half-written day.
- ``people.parquet`` (person_id, household_id, unit_id; unit_id null for persons without
  work) and ``venues.parquet`` (venue_code, category): what tracing needs beside co-presence.

Every value is a hash of (seed, person, day, slot), so a run is deterministic and needs no
state: ``--persons`` × ``--days`` × ``--scans-per-day`` rows exactly. A person's scans of a
day fall in consecutive slots between 07:00 and 21:00, without overlapping each other. About
60 % go to venues near home (venues are numbered along the persons' home areas), the rest to
venues drawn with a popularity skew (index ∝ u^SKEW), so a few venues are crowded.

The city is calibrated on RULES §2 (Shandong: ≈ 34 close contacts per confirmed case,
household and workplace included): with the national-9 policy (4-day look-back, 15 minutes
of overlap) 100 positives have a few dozen venue close contacts each, not thousands.
Ten scans a person-day are mostly brief (a shop, a bus, a gate), so:

- ``PERSONS_PER_VENUE`` = 8: one venue code per 8 residents (125 k codes for 1 M persons,
  shops, bus lines and office floors each with their own code), ~80 scans a venue-day;
- stays of ``MIN_STAY_S`` + (``max`` − ``MIN_STAY_S``) · u^``STAY_SKEW`` (2 min to 56 min,
  median ≈ 9 min): only ~40 % of the visits last 15 minutes or more, so overlaps long enough to
  be close are rare outside the crowded venues;
- ``NO_EXIT_SHARE`` = 5 % of scans without an exit, given the policy's 30-minute default
  stay (``left_at_inferred`` set).

The 150 residents a venue and uniform 5–60 min stays used before gave ≈ 3,200 close
contacts per case: every visit met ~60 people for a quarter of an hour.

Prints JSON: rows, seconds, rows/s, bytes on disk, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from fangkong.lake.keys import file_name
from fangkong.lake.writer import CODEC, PERSON_ROW_GROUP_ROWS, ROW_GROUP_ROWS

PERSONS_PER_VENUE = 8
PERSONS_PER_HOUSEHOLD = 2.6  # 2020 census mean
UNIT_SIZE = 30
EMPLOYED = 0.6  # share of persons with a workplace unit
LOCAL_SHARE = 0.6  # share of scans at venues near home
NEARBY = 5  # venues either side of the home venue that count as near home
SKEW = 1.5  # popularity: venue index = floor(V * u^SKEW)
DAY_START_H, DAY_END_H = 7, 21  # local hours the scans fall in
MIN_STAY_S, MAX_STAY_S = 2 * 60, 60 * 60
STAY_SKEW = 3.0  # stay = MIN + (max - MIN) * u^STAY_SKEW: mostly brief, a few long
NO_EXIT_SHARE = 0.05  # scans without left_at, filled from the default stay
DEFAULT_STAY_MIN = 30  # the policies' default_stay_minutes
UTC_OFFSET_H = 8  # Asia/Shanghai has no DST
FIRST_DAY = date(2022, 3, 8)
# Categories and their weights for the popularity-drawn venues (no excluded category: the
# benchmark measures co-presence, not the category filter).
CATEGORIES = (
    ("restaurant", 30), ("supermarket", 15), ("market", 6), ("mall", 4), ("office", 10),
    ("factory", 10), ("school", 4), ("bus", 8), ("transport", 2), ("hotel", 3), ("gym", 3),
    ("cinema", 2), ("ktv", 2), ("clinic", 1),
)  # fmt: skip


def _width(n: int) -> int:
    return max(1, len(str(max(0, n - 1))))


def _u(seed: int, *parts: str) -> str:
    """A uniform draw in [0, 1) from a hash of the seed and the given SQL expressions."""
    return f"(hash({seed}, {', '.join(parts)}) % 1000003) / 1000003.0"


def day_sql(
    *, seed: int, persons: int, day: date, scans_per_day: int, per_venue: int = PERSONS_PER_VENUE
) -> str:
    """The SELECT producing one local day's scans, sorted by (venue_code, entered_at)."""
    venues = max(1, math.ceil(persons / per_venue))
    slot_s = (DAY_END_H - DAY_START_H) * 3600 // scans_per_day
    max_stay = min(MAX_STAY_S, slot_s * 2 // 3)
    if max_stay <= max(MIN_STAY_S, DEFAULT_STAY_MIN * 60):
        raise SystemExit(f"--scans-per-day {scans_per_day}: slots too short for the stays")
    # 07:00 local is 23:00 UTC of the previous day.
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        hours=DAY_START_H - UTC_OFFSET_H
    )
    d = day.toordinal()  # the day's draws differ from every other day's
    local = f"(p // {per_venue} + hash({seed}, p, {d}, k, 2) % {2 * NEARBY + 1} - {NEARBY})"
    popular = f"floor({venues} * pow({_u(seed, 'p', str(d), 'k', '5')}, {SKEW}))::BIGINT"
    return f"""
    WITH draws AS (
        SELECT p, k,
            {_u(seed, "p", str(d), "k", "6")} < {NO_EXIT_SHARE} AS inferred,
            CASE WHEN {_u(seed, "p", str(d), "k", "1")} < {LOCAL_SHARE}
                 THEN (({local}) % {venues} + {venues}) % {venues}
                 ELSE least({popular}, {venues - 1}) END AS v,
            hash({seed}, p, {d}, k, 4) AS h
        FROM range({persons}) AS t(p), range({scans_per_day}) AS s(k)
    ), stays AS (
        -- the stay the lake will hold: drawn, or the default one of a scan without exit
        SELECT *, CASE WHEN inferred THEN {DEFAULT_STAY_MIN * 60}
                       ELSE {MIN_STAY_S} + floor({max_stay - MIN_STAY_S}
                            * pow({_u(seed, "p", str(d), "k", "3")}, {STAY_SKEW}))::BIGINT
                       END AS stay_s
        FROM draws
    ), timed AS (
        -- inside the person's slot, so that a person's visits never overlap
        SELECT *, TIMESTAMPTZ '{start.isoformat()}'
                  + to_seconds((k * {slot_s} + h % ({slot_s} - stay_s))::BIGINT) AS entered_at
        FROM stays
    )
    SELECT
        p::INTEGER AS person_key,
        v::INTEGER AS venue_key,
        entered_at,
        entered_at + to_seconds(stay_s) AS left_at,
        inferred AS left_at_inferred
    FROM timed
    ORDER BY venue_key, entered_at
    """


def people_sql(*, seed: int, persons: int) -> str:
    pw = _width(persons)
    households = max(1, math.ceil(persons / PERSONS_PER_HOUSEHOLD))
    units = max(1, math.ceil(persons * EMPLOYED / UNIT_SIZE))
    # Neighbours in numbering share a household; units are scattered over the city.
    return f"""
    SELECT
        'P' || lpad(p::VARCHAR, {pw}, '0') AS person_id,
        'H' || lpad((p * {households} // {persons})::VARCHAR, {_width(households)}, '0')
            AS household_id,
        CASE WHEN {_u(seed, "p", "7")} < {EMPLOYED}
             THEN 'U' || lpad((hash({seed}, p, 8) % {units})::VARCHAR, {_width(units)}, '0')
             END AS unit_id
    FROM range({persons}) AS t(p)
    ORDER BY person_id
    """


def keys_sql(*, prefix: str, count: int) -> str:
    """The dictionary of a kind: key n is the id numbered n (persons and venues alike)."""
    return f"""
    SELECT n::INTEGER AS key, '{prefix}' || lpad(n::VARCHAR, {_width(count)}, '0') AS value
    FROM range({count}) AS t(n)
    ORDER BY key
    """


def venues_sql(*, seed: int, persons: int, per_venue: int = PERSONS_PER_VENUE) -> str:
    venues = max(1, math.ceil(persons / per_venue))
    total = sum(w for _, w in CATEGORIES)
    cases, acc = [], 0
    for name, weight in CATEGORIES:
        acc += weight
        cases.append(f"WHEN x < {acc / total} THEN '{name}'")
    return f"""
    SELECT 'V' || lpad(v::VARCHAR, {_width(venues)}, '0') AS venue_code,
           CASE {" ".join(cases)} ELSE 'restaurant' END AS category
    FROM (SELECT v, {_u(seed, "v", "9")} AS x FROM range({venues}) AS t(v))
    ORDER BY venue_code
    """


def _file_name(seed: int, day: date) -> str:
    return f"compact-gen{seed:x}{day:%Y%m%d}.parquet"


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, row_group: int) -> None:
    """COPY to a hidden name, then rename: the day appears whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f"_{target.name}")
    con.execute(
        f"COPY ({sql}) TO '{work}' "
        f"(FORMAT parquet, COMPRESSION {CODEC}, PARQUET_VERSION V2, ROW_GROUP_SIZE {row_group})"
    )
    os.replace(work, target)


def generate(
    out: Path,
    *,
    persons: int,
    days: int,
    scans_per_day: int = 10,
    per_venue: int = PERSONS_PER_VENUE,
    seed: int = 2022,
    first_day: date = FIRST_DAY,
    row_group: int = ROW_GROUP_ROWS,
    person_row_group: int = PERSON_ROW_GROUP_ROWS,
    person_index: bool = True,
    index_only: bool = False,
    memory_limit: str = "12GB",
    threads: int | None = None,
    log: bool = False,
) -> dict[str, object]:
    """Write the lake, people and venues under ``out``; returns the figures of the run."""
    started = time.perf_counter()
    scans_root = out / "lake" / "scans"
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{out / '_duckdb_tmp'}'")
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {threads}")
    out.mkdir(parents=True, exist_ok=True)
    if not index_only:
        _copy(con, people_sql(seed=seed, persons=persons), out / "people.parquet", row_group)
        venues = venues_sql(seed=seed, persons=persons, per_venue=per_venue)
        _copy(con, venues, out / "venues.parquet", row_group)
        venue_count = max(1, math.ceil(persons / per_venue))
        for kind, prefix, count in (("person", "P", persons), ("venue", "V", venue_count)):
            target = out / "lake" / "keys" / kind / file_name(0, count)
            _copy(con, keys_sql(prefix=prefix, count=count), target, 1_000_000)
    per_day = []
    for i in range(days):
        day = first_day + timedelta(days=i)
        t = time.perf_counter()
        name = _file_name(seed, day)
        main = scans_root / f"day={day.isoformat()}" / name
        if not index_only:
            sql = day_sql(
                seed=seed,
                persons=persons,
                day=day,
                scans_per_day=scans_per_day,
                per_venue=per_venue,
            )
            _copy(con, sql, main, row_group)
        if person_index or index_only:
            by_person = f"SELECT * FROM read_parquet('{main}') ORDER BY person_key, entered_at"
            target = out / "lake" / "scans_by_person" / f"day={day.isoformat()}" / name
            _copy(con, by_person, target, person_row_group)
        per_day.append(round(time.perf_counter() - t, 2))
        if log:
            print(f"{day} {per_day[-1]} s", flush=True)
    con.close()
    shutil.rmtree(out / "_duckdb_tmp", ignore_errors=True)
    seconds = time.perf_counter() - started
    rows = persons * days * scans_per_day
    size = sum(f.stat().st_size for f in scans_root.rglob("*.parquet"))
    return {
        "benchmark": "gen_scans",
        "out": str(out),
        "persons": persons,
        "venues": math.ceil(persons / per_venue),
        "days": days,
        "first_day": first_day.isoformat(),
        "scans_per_day": scans_per_day,
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "day_seconds": per_day,
        "bytes": size,
        "person_index_bytes": sum(
            f.stat().st_size for f in (out / "lake" / "scans_by_person").rglob("*.parquet")
        ),
        "bytes_per_row": round(size / rows, 2) if rows else 0,
        "peak_rss_mib": peak_rss_mib(),
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
    }


def peak_rss_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux: KiB


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fangkong-bench/70m"))
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--scans-per-day", type=int, default=10)
    parser.add_argument("--persons-per-venue", type=int, default=PERSONS_PER_VENUE)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--first-day", type=date.fromisoformat, default=FIRST_DAY)
    parser.add_argument("--row-group", type=int, default=ROW_GROUP_ROWS)
    parser.add_argument("--person-row-group", type=int, default=PERSON_ROW_GROUP_ROWS)
    parser.add_argument("--no-person-index", action="store_true")
    parser.add_argument(
        "--index-only", action="store_true", help="add the person index to an existing lake"
    )
    parser.add_argument("--memory-limit", default="12GB")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--log", action="store_true", help="print each day's time as it is done")
    args = parser.parse_args()
    result = generate(
        args.out,
        persons=args.persons,
        days=args.days,
        scans_per_day=args.scans_per_day,
        per_venue=args.persons_per_venue,
        seed=args.seed,
        first_day=args.first_day,
        row_group=args.row_group,
        person_row_group=args.person_row_group,
        person_index=not args.no_person_index,
        index_only=args.index_only,
        memory_limit=args.memory_limit,
        threads=args.threads,
        log=args.log,
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
