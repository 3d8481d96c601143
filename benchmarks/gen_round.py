"""A synthetic round of mass testing at city scale, written by DuckDB.

    python benchmarks/gen_round.py --persons 4700000 --out /tmp/fangkong-bench/round-zibo
    python benchmarks/gen_round.py --persons 25700000 --communities 13000 \\
        --out /tmp/fangkong-bench/round-shanghai

Writes, under ``--out``:

- ``due.parquet``: the round's population (person_id, community_id, community_name,
  street_code, district_code), ``--communities`` communities in ``--districts`` districts,
  about 60 communities a street, persons numbered along the communities;
- ``exemptions.parquet`` (person_id, reason): ``--exempt`` of the population, not sampled,
  plus a few who were sampled anyway;
- ``points.parquet`` (point_code, community_id): one sampling point per 2,500 persons of a
  community (RULES §5: 2,000–3,000), at least one;
- ``samples.parquet``: the first stage. ``--coverage`` of the due persons are swabbed, at a
  point of their community, between 06:00 and 22:00 local time, plus visitors not due
  (``--not-due``). At each point, persons are pooled ``--pool`` to a tube in the order they
  came (the last tube of a point may be partly filled); ``--singles`` are swabbed by single
  tube (the elderly, infants);
- ``results.csv``: one row per tube (tube_barcode, result, lab, resulted_at, ct_orf1ab,
  ct_n): a tube is positive when one of its swabs is from an infected person (each person
  infected with probability ``--prevalence``), else invalid with probability ``--invalid``,
  else negative; results 4–12 hours after the tube's last swab, from three labs a district;
- ``samples_retest.parquet`` and ``results_retest.csv``: the second stage, a single tube for
  every member of a positive pool (单采复核), swabbed 1–4 hours after the pool's result,
  positive exactly when the person is infected;
- ``expected.json``: the counts the outcome must show.

Every value is a hash of (seed, person or tube, draw), so a run is deterministic. Prints JSON.
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
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ROUND_DAY = "2022-04-04"
DAY_START_H, DAY_HOURS = 6, 16  # swabs between 06:00 and 22:00 local time
PERSONS_PER_POINT = 2_500
COMMUNITIES_PER_STREET = 60
LABS_PER_DISTRICT = 3
SAMPLED_AND_EXEMPT = 0.0005  # share of the population exempted but swabbed anyway
REASONS = ("quarantine", "hospital", "travelling", "other")


def _u(seed: int, *parts: str) -> str:
    """A uniform draw in [0, 1) from a hash of the seed and the given SQL expressions."""
    return f"((hash({seed}, {', '.join(parts)}) % 1000003) / 1000003.0)"


def _width(n: int) -> int:
    return max(1, len(str(max(0, n - 1))))


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, fmt: str = "parquet") -> None:
    """COPY to a hidden name, then rename: a file appears whole or not at all."""
    work = target.with_name(f".{target.name}")
    options = (
        "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880"
        if fmt == "parquet"
        else "FORMAT csv, HEADER true"
    )
    con.execute(f"COPY ({sql}) TO '{work}' ({options})")
    os.replace(work, target)


def generate(
    out: Path,
    *,
    persons: int,
    communities: int,
    districts: int = 16,
    pool: int = 10,
    prevalence: float = 0.0001,
    coverage: float = 0.97,
    exempt: float = 0.01,
    not_due: float = 0.002,
    singles: float = 0.005,
    invalid: float = 0.0002,
    seed: int = 2022,
    memory_limit: str = "8GB",
) -> dict[str, object]:
    started = time.perf_counter()
    if coverage + exempt > 1:
        raise SystemExit("--coverage + --exempt must not exceed 1")
    communities = max(1, min(communities, persons))
    streets = max(1, math.ceil(communities / COMMUNITIES_PER_STREET))
    districts = max(1, min(districts, streets))
    per_community = persons / communities
    points_per_community = max(1, math.ceil(per_community / PERSONS_PER_POINT))
    visitors = round(persons * not_due)
    pw = _width(persons + visitors)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{out / '_duckdb_tmp'}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")
    start = f"TIMESTAMPTZ '{ROUND_DAY} {DAY_START_H:02d}:00:00+08:00'"

    # Everyone of the city, due or visiting: their area, draws and whether they were swabbed.
    con.execute(
        f"""
        CREATE TABLE people AS
        WITH base AS (
            SELECT p, p < {persons} AS due,
                CASE WHEN p < {persons} THEN p * {communities} // {persons}
                     ELSE hash({seed}, p, 9) % {communities} END AS c,
                {_u(seed, "p", "1")} AS u_cover
            FROM range({persons + visitors}) t(p)
        )
        SELECT p, due, c,
            'P' || lpad(p::VARCHAR, {pw}, '0') AS person_id,
            c * {streets} // {communities} AS s,
            (c * {streets} // {communities}) * {districts} // {streets} AS d,
            NOT due OR u_cover < {coverage} AS sampled,
            due AND (u_cover >= {coverage} AND u_cover < {coverage + exempt}
                OR u_cover < {SAMPLED_AND_EXEMPT}) AS exempt,
            {_u(seed, "p", "4")} < {prevalence} AS infected,
            {_u(seed, "p", "3")} < {singles} AS single,
            'C' || c || '-' || hash({seed}, p, 2) % {points_per_community} AS point_code,
            {start} + to_microseconds(({_u(seed, "p", "5")} * {DAY_HOURS * 3600e6})::BIGINT)
                AS sampled_at
        FROM base
        """
    )
    _copy(
        con,
        """
        SELECT person_id, (100000 + c)::BIGINT AS community_id, '社区' || c AS community_name,
            (310101 + d)::VARCHAR || lpad((s % 1000)::VARCHAR, 3, '0') AS street_code,
            (310101 + d)::VARCHAR AS district_code
        FROM people WHERE due ORDER BY p
        """,
        out / "due.parquet",
    )
    _copy(
        con,
        f"""
        SELECT person_id,
            {list(REASONS)}[(1 + hash({seed}, p, 6) % {len(REASONS)})::BIGINT] AS reason
        FROM people WHERE exempt ORDER BY p
        """,
        out / "exemptions.parquet",
    )
    _copy(
        con,
        f"""
        SELECT 'C' || c || '-' || k AS point_code, (100000 + c)::BIGINT AS community_id
        FROM range({communities}) a(c), range({points_per_community}) b(k)
        ORDER BY c, k
        """,
        out / "points.parquet",
    )
    # Pools filled in the order persons came, at each point; singles numbered apart.
    con.execute(
        f"""
        CREATE TABLE samples AS
        SELECT person_id, infected, d, sampled_at, point_code,
            CASE WHEN single THEN point_code || '-S' || lpad(rn::VARCHAR, 5, '0')
                 ELSE point_code || '-' || lpad(((rn - 1) // {pool})::VARCHAR, 5, '0')
                 END AS tube_barcode,
            CASE WHEN single THEN 1 ELSE {pool} END::SMALLINT AS tube_size
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY point_code, single ORDER BY sampled_at, person_id) AS rn
            FROM people WHERE sampled
        )
        """
    )
    _copy(
        con,
        "SELECT person_id, tube_barcode, tube_size, point_code, sampled_at FROM samples "
        "ORDER BY point_code, sampled_at, tube_barcode",
        out / "samples.parquet",
    )
    con.execute(
        """
        CREATE TABLE tubes AS
        SELECT tube_barcode, any_value(tube_size) AS tube_size, bool_or(infected) AS positive,
            max(sampled_at) AS last_sampled, any_value(d) AS d
        FROM samples GROUP BY tube_barcode
        """
    )
    con.execute(
        f"""
        CREATE TABLE results AS
        SELECT tube_barcode, tube_size,
            CASE WHEN positive THEN 'positive'
                 WHEN {_u(seed, "tube_barcode", "7")} < {invalid} THEN 'invalid'
                 ELSE 'negative' END AS result,
            'LAB' || lpad((d * {LABS_PER_DISTRICT}
                + hash({seed}, tube_barcode, 8) % {LABS_PER_DISTRICT})::VARCHAR, 3, '0') AS lab,
            last_sampled + to_microseconds(
                ((4 + 8 * {_u(seed, "tube_barcode", "9")}) * 3600e6)::BIGINT) AS resulted_at,
            CASE WHEN positive THEN round(18 + 15 * {_u(seed, "tube_barcode", "10")}, 1) END
                AS ct_orf1ab,
            CASE WHEN positive THEN round(18 + 15 * {_u(seed, "tube_barcode", "11")}, 1) END
                AS ct_n
        FROM tubes
        """
    )
    _copy(con, _results_csv("results"), out / "results.csv", "csv")
    # The second stage: every member of a positive pool, by single tube.
    con.execute(
        f"""
        CREATE TABLE retest AS
        SELECT s.person_id, s.infected, s.point_code,
            'R-' || s.person_id AS tube_barcode, 1::SMALLINT AS tube_size,
            r.resulted_at + to_microseconds(
                ((1 + 3 * {_u(seed, "s.person_id", "12")}) * 3600e6)::BIGINT) AS sampled_at,
            r.lab
        FROM samples s JOIN results r USING (tube_barcode)
        WHERE r.result = 'positive' AND r.tube_size > 1
        """
    )
    _copy(
        con,
        "SELECT person_id, tube_barcode, tube_size, point_code, sampled_at FROM retest "
        "ORDER BY point_code, sampled_at",
        out / "samples_retest.parquet",
    )
    con.execute(
        f"""
        CREATE TABLE results_retest AS
        SELECT tube_barcode, CASE WHEN infected THEN 'positive' ELSE 'negative' END AS result,
            lab, sampled_at + to_microseconds(
                ((3 + 3 * {_u(seed, "tube_barcode", "13")}) * 3600e6)::BIGINT) AS resulted_at,
            CASE WHEN infected THEN round(18 + 15 * {_u(seed, "tube_barcode", "14")}, 1) END
                AS ct_orf1ab,
            CASE WHEN infected THEN round(18 + 15 * {_u(seed, "tube_barcode", "15")}, 1) END
                AS ct_n
        FROM retest
        """
    )
    _copy(con, _results_csv("results_retest"), out / "results_retest.csv", "csv")

    figures = con.execute(
        """
        SELECT
            (SELECT count(*) FROM people WHERE due),
            (SELECT count(*) FROM people WHERE due AND sampled),
            (SELECT count(*) FROM people WHERE NOT due),
            (SELECT count(*) FROM people WHERE due AND NOT sampled AND exempt),
            (SELECT count(*) FROM people WHERE due AND NOT sampled AND NOT exempt),
            (SELECT count(*) FROM people WHERE sampled AND infected),
            (SELECT count(*) FROM samples),
            (SELECT count(*) FROM tubes),
            (SELECT count(*) FROM results WHERE result = 'positive' AND tube_size > 1),
            (SELECT count(*) FROM results WHERE result = 'positive' AND tube_size = 1),
            (SELECT count(*) FROM results WHERE result = 'invalid'),
            (SELECT count(*) FROM samples s JOIN results r USING (tube_barcode)
                WHERE r.result = 'invalid'),
            (SELECT count(*) FROM retest)
        """
    ).fetchone()
    con.close()
    shutil.rmtree(out / "_duckdb_tmp", ignore_errors=True)
    assert figures is not None
    (due, sampled, visiting, exempted, missing, infected, samples, tubes) = figures[:8]
    (positive_pools, positive_singles, invalid_tubes, in_invalid, retests) = figures[8:]
    expected = {
        "due": due,
        "sampled": sampled,
        "sampled_not_due": visiting,
        "exempt": exempted,
        "missing": missing,
        "infected_sampled": infected,
        "samples": samples,
        "tubes": tubes,
        "positive_pools": positive_pools,
        "positive_singles": positive_singles,
        "invalid_tubes": invalid_tubes,
        "persons_in_invalid_tubes": in_invalid,
        "retest_samples": retests,
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2))
    seconds = time.perf_counter() - started
    return {
        "benchmark": "gen_round",
        "out": str(out),
        "persons": persons,
        "communities": communities,
        "streets": streets,
        "districts": districts,
        "points": communities * points_per_community,
        "pool": pool,
        "prevalence": prevalence,
        "coverage": coverage,
        **expected,
        "bytes": {f.name: f.stat().st_size for f in sorted(out.iterdir()) if f.is_file()},
        "seconds": round(seconds, 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
    }


def _results_csv(table: str) -> str:
    """Results as a lab's CSV: local times with their offset, Ct values with one decimal."""
    return f"""
        SELECT tube_barcode, result, lab,
            strftime(timezone('Asia/Shanghai', resulted_at), '%Y-%m-%dT%H:%M:%S') || '+08:00'
                AS resulted_at,
            ct_orf1ab, ct_n
        FROM {table} ORDER BY resulted_at, tube_barcode
    """


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fangkong-bench/round"))
    parser.add_argument("--persons", type=int, default=4_700_000)
    parser.add_argument("--communities", type=int, default=13_000)
    parser.add_argument("--districts", type=int, default=16)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--prevalence", type=float, default=0.0001)
    parser.add_argument("--coverage", type=float, default=0.97)
    parser.add_argument("--exempt", type=float, default=0.01)
    parser.add_argument("--not-due", type=float, default=0.002)
    parser.add_argument("--singles", type=float, default=0.005)
    parser.add_argument("--invalid", type=float, default=0.0002)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--memory-limit", default="8GB")
    args = parser.parse_args()
    result = generate(
        args.out,
        persons=args.persons,
        communities=args.communities,
        districts=args.districts,
        pool=args.pool,
        prevalence=args.prevalence,
        coverage=args.coverage,
        exempt=args.exempt,
        not_due=args.not_due,
        singles=args.singles,
        invalid=args.invalid,
        seed=args.seed,
        memory_limit=args.memory_limit,
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
