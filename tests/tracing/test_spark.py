"""Spark returns exactly DuckDB's co-presence and timelines on the same lake."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from fangkong.lake.engine import connect
from fangkong.policy import load_policy
from fangkong.tracing import query, rules

from .helpers import local, write_scans


@pytest.mark.spark
def test_spark_equals_duckdb(tmp_path: Path) -> None:
    rng = random.Random(7)
    first = date(2022, 3, 1)
    scans = []
    for _ in range(400):
        start = local(first, 0) + timedelta(minutes=rng.randrange(5 * 24 * 60))
        scans.append(
            (
                f"P{rng.randrange(40)}",
                f"V{rng.randrange(5)}",
                start,
                start + timedelta(minutes=rng.choice([5, 14, 15, 30, 90])),
            )
        )
    write_scans(tmp_path, scans[:200], part="a")
    write_scans(tmp_path, scans[200:], part="b")
    policy = load_policy("national-9")
    windows = []
    for i, p in enumerate(["P1", "P2", "P3"]):
        w = rules.lookback_window(
            onset_on=first + timedelta(days=i + 2),
            sampled_on=None,
            reported_on=first + timedelta(days=i + 3),
            policy=policy,
        )
        windows.append(query.CaseWindow(f"C{i}", p, w.start, w.end))
    duck, spark = connect("duckdb"), connect("spark")
    expected = query.exposures(duck, tmp_path, windows)
    assert sum(len(v) for v in expected.values()) > 10
    assert query.exposures(spark, tmp_path, windows) == expected
    assert query.timeline(spark, tmp_path, windows) == query.timeline(duck, tmp_path, windows)
