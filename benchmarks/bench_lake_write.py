"""Writing scans into the lake: a large batch, the same batch again, a small known batch.

    python benchmarks/bench_lake_write.py --scans 2000000

``lake.writer.write_scans`` of ``--scans`` random scans (``--persons`` persons, ``--venues``
venues, three days) into an empty lake (every id gets a key), the same scans again (all
duplicates: the anti-join against the days' files), then ``--small`` of them again (a live-buffer
flush of ids the lake knows). Prints JSON: seconds per step, rows/s of the first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from fangkong.lake import writer
from fangkong.lake.layout import SCANS

T0 = datetime(2022, 3, 10, tzinfo=UTC)


def scans(n: int, persons: int, venues: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    entered = int(T0.timestamp() * 1e6) + rng.integers(0, 3 * 86_400 * 10**6, n)
    return pa.table(
        {
            "person_id": pa.array([f"P{i:07d}" for i in rng.integers(0, persons, n)]),
            "venue_code": pa.array([f"V{i:06d}" for i in rng.integers(0, venues, n)]),
            "entered_at": pa.array(entered, pa.timestamp("us", tz="UTC")),
            "left_at": pa.array(entered + 20 * 60 * 10**6, pa.timestamp("us", tz="UTC")),
            "left_at_inferred": pa.array(np.zeros(n, bool)),
        },
        schema=SCANS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scans", type=int, default=2_000_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--venues", type=int, default=125_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    table = scans(args.scans, args.persons, args.venues, args.seed)
    lake = Path(tempfile.mkdtemp(prefix="fangkong-write-"))
    try:
        steps = {}
        for step, batch in (
            ("new", table),
            ("again", table),
            ("small_known", table.slice(0, args.small)),
        ):
            t = time.perf_counter()
            report = writer.write_scans(lake, batch)
            steps[step] = {
                "seconds": round(time.perf_counter() - t, 3),
                "rows": batch.num_rows,
                "added": report.added,
                "duplicates": report.duplicates,
            }
    finally:
        shutil.rmtree(lake, ignore_errors=True)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    result = {
        "benchmark": "lake_write",
        "steps": steps,
        "new_rows_per_s": round(args.scans / steps["new"]["seconds"]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}",
        "date": datetime.now(UTC).date().isoformat(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
