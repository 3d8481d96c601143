"""A round of mass testing end to end, from files to recall list and coverage.

The claim: at Shanghai's size (4 April 2022: 25.7 M people swabbed into 2.43 M tubes in a
day) the lake side of a round — import the samples, import the results, apply the round
(every person's state, the recall list, coverage of every community), then the single-tube
retests of the pool positives and the round applied again — takes ≤ 5 minutes end to end
within 16 GiB; at 淄博's size (4.7 M people) ≤ 60 s.

    python benchmarks/gen_round.py --persons 4700000 --out /tmp/fangkong-bench/round-zibo
    python benchmarks/bench_round.py --data /tmp/fangkong-bench/round-zibo

Every stage runs in this one process on a fresh lake (``--lake``, default ``DATA/lake``,
removed first) with fangkong's own functions: ``samples.import_samples``,
``results.import_results``, ``outcome.apply_round``. Per stage: seconds, rows, rows/s and
peak RSS (the kernel's high-water mark is reset before each). The outcome is checked against
``expected.json``: after the retests no one is left pool positive and every infected person
sampled is positive. Then, apart from the total, what a sampling device waits for against
the full round: a batch of 10 samples (``add_samples``) and the closing of its tube. Prints
JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.testing.outcome import RoundOutcome, apply_round
from fangkong.testing.results import import_results
from fangkong.testing.samples import add_samples, close_tube, import_samples

ROUND = "R2022-04-04"
TARGETS = {"shanghai": (25_700_000, 300.0), "zibo": (4_700_000, 60.0)}
T = TypeVar("T")


def _reset_peak() -> None:
    """Reset the process's peak RSS (VmHWM), so each stage reports its own."""
    gc.collect()
    with contextlib.suppress(OSError):  # not Linux: the peak is the process's
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def _stage(name: str, rows: int, fn: Callable[[], T], log: bool) -> tuple[T, dict[str, Any]]:
    _reset_peak()
    t = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t
    figures = {
        "stage": name,
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_s": round(rows / seconds) if seconds else None,
        "peak_rss_mib": _peak_mib(),
    }
    if log:
        print(json.dumps(figures), flush=True)
    return result, figures


def _outcome(outcome: RoundOutcome) -> dict[str, Any]:
    return {
        "counts": vars(outcome.counts),
        "persons_sampled": outcome.persons_sampled,
        "tubes_first_stage": outcome.tubes_first_stage,
        "tubes_retest": outcome.tubes_retest,
        "tests_per_person": round(outcome.tests_per_person, 5),
        "positivity": outcome.positivity,
        "fixed_10_tests_per_person": round(outcome.fixed_tests_per_person, 5),
        "entropy_floor": round(outcome.entropy_floor, 5),
        "stage_seconds": outcome.seconds,
    }


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("/tmp/fangkong-bench/round-zibo"))
    parser.add_argument("--lake", type=Path, default=None)
    parser.add_argument("--log", action="store_true", help="print each stage as it ends")
    args = parser.parse_args()
    data: Path = args.data
    lake: Path = args.lake or data / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    expected = json.loads((data / "expected.json").read_text())
    exemptions = pq.read_table(data / "exemptions.parquet")
    points = pq.read_table(data / "points.parquet")
    due = data / "due.parquet"

    def rows(name: str) -> int:
        if name.endswith(".parquet"):
            return int(pq.ParquetFile(data / name).metadata.num_rows)
        with (data / name).open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1

    def apply() -> RoundOutcome:
        return apply_round(lake, ROUND, due, exemptions, points=points)

    stages: list[dict[str, Any]] = []
    started = time.perf_counter()
    _, figures = _stage(
        "import_samples",
        rows("samples.parquet"),
        lambda: import_samples(lake, ROUND, data / "samples.parquet"),
        args.log,
    )
    stages.append(figures)
    _, figures = _stage(
        "import_results",
        rows("results.csv"),
        lambda: import_results(lake, ROUND, data / "results.csv", source="results.csv"),
        args.log,
    )
    stages.append(figures)
    first, figures = _stage("apply", expected["due"], apply, args.log)
    stages.append(figures)
    _, figures = _stage(
        "import_retest_samples",
        rows("samples_retest.parquet"),
        lambda: import_samples(lake, ROUND, data / "samples_retest.parquet"),
        args.log,
    )
    stages.append(figures)
    _, figures = _stage(
        "import_retest_results",
        rows("results_retest.csv"),
        lambda: import_results(
            lake, ROUND, data / "results_retest.csv", source="results_retest.csv"
        ),
        args.log,
    )
    stages.append(figures)
    second, figures = _stage("apply_after_retest", expected["due"], apply, args.log)
    stages.append(figures)
    total = time.perf_counter() - started

    # A sampling device's batch against the full round (after the total: not part of it).
    point = pq.read_table(data / "points.parquet", columns=["point_code"])["point_code"][0]
    at = datetime(2022, 4, 4, 23, 0, tzinfo=UTC)
    batch = pa.table(
        {
            "person_id": [f"DEV{i}" for i in range(10)],
            "tube_barcode": ["DEV-TUBE"] * 10,
            "tube_size": pa.array([10] * 10, pa.int16()),
            "point_code": [point.as_py()] * 10,
            "sampled_at": pa.array([at] * 10, pa.timestamp("us", tz="UTC")),
        }
    )
    _, figures = _stage("device_add_samples", 10, lambda: add_samples(lake, ROUND, batch), args.log)
    device = [figures]
    _, figures = _stage(
        "device_close_tube",
        1,
        lambda: close_tube(lake, ROUND, "DEV-TUBE", point.as_py(), at),
        args.log,
    )
    device.append(figures)

    checks = {
        "pool_positive_are_the_members_of_positive_pools": first.counts.pool_positive
        == expected["retest_samples"],
        "retest_clears_every_pool_positive": second.counts.pool_positive == 0,
        "positives_are_the_infected_sampled": second.counts.positive
        == expected["infected_sampled"],
        "coverage": all(
            getattr(second.counts, k) == expected[k]
            for k in ("due", "sampled", "sampled_not_due", "exempt", "missing")
        ),
        "retest_state_is_the_invalid_tubes": second.counts.retest
        == expected["persons_in_invalid_tubes"],
    }
    persons = expected["due"]
    size = min(TARGETS, key=lambda k: abs(TARGETS[k][0] - persons))
    result = {
        "benchmark": "round",
        "data": str(data),
        "persons_due": persons,
        "samples": expected["samples"],
        "tubes": expected["tubes"],
        "stages": stages,
        "total_s": round(total, 1),
        "device_batch": device,
        "peak_rss_mib": max(s["peak_rss_mib"] for s in stages),
        "target": {"size": size, "persons": TARGETS[size][0], "seconds": TARGETS[size][1]},
        "within_target": total <= TARGETS[size][1],
        "outcome_first": _outcome(first),
        "outcome_after_retest": _outcome(second),
        "checks": checks,
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
