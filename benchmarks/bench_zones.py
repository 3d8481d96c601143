"""Zones at a city's scale (issue 17's numbers), each against a baseline of the same run.

- status of persons in bulk: the whole city's addresses (4.7 M) through ``ZoneIndex``,
  against the same answer from a plain SQL join in DuckDB (addresses × zone units);
- single lookups per second (``ZoneIndex.of_address``);
- venue point-in-zone against 10,000 polygons (``PolygonIndex``, STR-tree), against a
  linear scan of the polygons (measured on a sample and scaled);
- lifting evaluation of 1,000 zones (``rules.evaluate``), against the last positive and
  the last all-negative round per zone recomputed by a SQL aggregate (in-memory SQLite);
- proposals for a day of 100 new cases (``rules.propose``) with 2,000 zones drawn, against
  the baseline of building the drawn set alone.

The reads around the pure steps (a case's address, the day's zones) are indexed look-ups of
the store and are not part of these numbers.

    python benchmarks/bench_zones.py [--persons 4700000] [--zones 1000] [--polygons 10000]

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from fangkong.policy import load_policy
from fangkong.zones.geo import PolygonIndex
from fangkong.zones.index import ZoneEntry, ZoneIndex, ZoneStatus
from fangkong.zones.rules import CaseAt, Drawn, Place, RoundFact, ZoneFacts, evaluate, propose

DAY = date(2022, 3, 16)
DISTRICTS = [f"3703{i:02d}" for i in range(2, 12)]


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def city(persons: int, rng: random.Random) -> pa.Table:
    """Synthetic addresses: 10 districts, 80 streets, 2,000 communities, 20,000 compounds,
    200,000 buildings (a person's units nest)."""
    building = np.arange(persons, dtype=np.int64) % 200_000
    compound = building // 10
    community = compound // 10
    street = community // 25
    district = street // 8
    return pa.table(
        {
            "person": np.arange(persons, dtype=np.int64),
            "district": pa.array([DISTRICTS[d] for d in district % 10]),
            "street": pa.array([f"{DISTRICTS[s // 8 % 10]}{s:03d}" for s in street]),
            "community": community,
            "compound": compound,
            "building": building,
        }
    )


def zones(n: int, rng: random.Random) -> list[ZoneEntry]:
    out: list[ZoneEntry] = []
    for i in range(n):
        kind = rng.choice(["compound", "compound", "building", "community"])
        ref = str(
            rng.randrange(
                20_000 if kind == "compound" else 200_000 if kind == "building" else 2_000
            )
        )
        level = "high" if kind != "community" else "medium"
        out.append(ZoneEntry(ZoneStatus(level, f"Z{i:05d}", DAY, "bench"), ((kind, ref),)))
    out.append(ZoneEntry(ZoneStatus("low", "ZL", DAY, "bench"), (("district", DISTRICTS[4]),)))
    return out


def rows_of(table: pa.Table) -> Iterator[tuple[int, str, str, int, int, int]]:
    cols = [table.column(c).to_pylist() for c in table.column_names]
    return zip(*cols, strict=True)  # type: ignore[return-value]


def bulk(table: pa.Table, entries: list[ZoneEntry]) -> dict[str, object]:
    index = ZoneIndex(entries)
    seconds, found = timed(lambda: index.of_addresses(rows_of(table)))
    units = pa.table(
        {
            "kind": [k for e in entries for k, _ in e.units],
            "ref": [r for e in entries for _, r in e.units],
            "code": [e.status.zone_code for e in entries for _ in e.units],
        }
    )
    con = duckdb.connect()
    con.register("persons", table)
    con.register("units", units)
    sql = """
        SELECT count(DISTINCT p.person) FROM persons p JOIN units u ON
            (u.kind = 'building' AND u.ref = CAST(p.building AS VARCHAR))
            OR (u.kind = 'compound' AND u.ref = CAST(p.compound AS VARCHAR))
            OR (u.kind = 'community' AND u.ref = CAST(p.community AS VARCHAR))
            OR (u.kind = 'district' AND u.ref = p.district)
    """
    base, row = timed(lambda: con.execute(sql).fetchone())
    assert row is not None
    assert row[0] == len(found), (row, len(found))
    return {
        "persons": table.num_rows,
        "in_zones": len(found),
        "seconds": round(seconds, 3),
        "baseline_sql_join_seconds": round(base, 3),
        "target_seconds": 5.0,
    }


def single(table: pa.Table, entries: list[ZoneEntry], n: int = 200_000) -> dict[str, object]:
    index = ZoneIndex(entries)
    sample = list(rows_of(table.slice(0, n)))

    def run() -> int:
        hits = 0
        for _, d, s, c, k, b in sample:
            if index.of_address(
                district_code=d, street_code=s, community_id=c, compound_id=k, building_id=b
            ):
                hits += 1
        return hits

    seconds, _ = timed(run)
    con = duckdb.connect()
    con.register("persons", table.slice(0, 1000))
    base, _ = timed(
        lambda: [
            con.execute("SELECT * FROM persons WHERE person = ?", [i]).fetchone()
            for i in range(1000)
        ]
    )
    return {
        "lookups": n,
        "per_second": round(n / seconds),
        "baseline_sql_point_query_per_second": round(1000 / base),
        "target_per_second": 100_000,
    }


def polygons(n: int, rng: random.Random, points: int = 200_000) -> dict[str, object]:
    shapes = []
    for i in range(n):
        lon, lat = 117.5 + rng.random() * 1.0, 36.2 + rng.random() * 1.0
        d = 0.002
        ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        shapes.append(
            (
                ZoneStatus("high", f"Z{i:05d}", DAY, "b"),
                json.dumps({"type": "Polygon", "coordinates": [ring]}),
            )
        )
    built, index = timed(lambda: PolygonIndex(shapes))
    lons = [117.5 + rng.random() for _ in range(points)]
    lats = [36.2 + rng.random() for _ in range(points)]
    single_s, _ = timed(
        lambda: [index.of_point(x, y) for x, y in zip(lons[:20_000], lats[:20_000], strict=True)]
    )
    bulk_s, found = timed(lambda: index.of_points(lons, lats))
    import shapely

    sample = 200
    geoms = index.geoms
    base, _ = timed(
        lambda: [
            [g for g in geoms if g.intersects(shapely.Point(x, y))]
            for x, y in zip(lons[:sample], lats[:sample], strict=True)
        ]
    )
    return {
        "polygons": n,
        "index_build_seconds": round(built, 3),
        "single_points_per_second": round(20_000 / single_s),
        "bulk_points_per_second": round(points / bulk_s),
        "points_in_a_zone": sum(1 for f in found if f is not None),
        "baseline_linear_scan_points_per_second": round(sample / base),
        "target_per_second": 100_000,
    }


def lifting(n: int, rng: random.Random) -> dict[str, object]:
    policy = load_policy("national-9")
    facts = []
    for _ in range(n):
        since = DAY - timedelta(days=rng.randrange(0, 14))
        last = since + timedelta(days=rng.randrange(0, 4)) if rng.random() < 0.5 else None
        rounds = tuple(
            RoundFact(since + timedelta(days=k), rng.random() < 0.9) for k in range(1, 10)
        )
        facts.append(ZoneFacts("high", since, last_positive=last, rounds=rounds))
    day = DAY + timedelta(days=7)
    seconds, verdicts = timed(lambda: [evaluate(f, day, policy.zones, "national-9") for f in facts])
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE s (zone INT, day TEXT, negative INT)")
    con.executemany(
        "INSERT INTO s VALUES (?, ?, ?)",
        [(i, r.day.isoformat(), int(r.negative)) for i, f in enumerate(facts) for r in f.rounds],
    )
    base, _ = timed(
        lambda: con.execute(
            "SELECT zone, max(CASE WHEN negative THEN day END), max(CASE WHEN NOT negative "
            "THEN day END) FROM s GROUP BY zone"
        ).fetchall()
    )
    return {
        "zones": n,
        "allowed": sum(v.allowed for v in verdicts),
        "seconds": round(seconds, 4),
        "baseline_sql_aggregate_seconds": round(base, 4),
        "target_seconds": 1.0,
    }


def proposals(cases: int, drawn: int, rng: random.Random) -> dict[str, object]:
    policy = load_policy("national-9")
    new = [
        CaseAt(
            f"C{i:04d}",
            "3703",
            DISTRICTS[i % 10],
            f"{DISTRICTS[i % 10]}001",
            rng.randrange(2_000),
            rng.randrange(20_000),
            rng.randrange(200_000),
            tuple(Place("venue", f"V{rng.randrange(50_000)}", DISTRICTS[i % 10]) for _ in range(3)),
        )
        for i in range(cases)
    ]
    held = [
        Drawn(f"Z{i}", "high", Place("compound", str(rng.randrange(20_000)), DISTRICTS[i % 10]))
        for i in range(drawn)
    ]
    seconds, made = timed(lambda: propose(new, held, policy.zones, "national-9"))
    base, _ = timed(lambda: {(d.place.kind, d.place.ref): d.level for d in held})
    return {
        "cases": cases,
        "drawn": drawn,
        "proposals": len(made),
        "seconds": round(seconds, 4),
        "baseline_drawn_set_seconds": round(base, 4),
        "target_seconds": 2.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=4_700_000)
    parser.add_argument("--zones", type=int, default=1_000)
    parser.add_argument("--polygons", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(17)
    table = city(args.persons, rng)
    entries = zones(args.zones, rng)
    print(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpu": platform.processor()},
                "status_bulk": bulk(table, entries),
                "status_single": single(table, entries),
                "venue_point_in_zone": polygons(args.polygons, rng),
                "lifting": lifting(args.zones, rng),
                "proposals": proposals(100, 2_000, rng),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
