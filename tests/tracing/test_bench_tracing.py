"""The tracing benchmark's contestants agree on a small generated city: fangkong's query and
rules, the in-memory SQL over the ids and over the keys, and the pandas merge."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from fangkong.lake.layout import SCAN_STREAM, lake_root
from fangkong.policy import load_policy

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_every_contestant_finds_the_same_contacts(tmp_path: Path) -> None:
    gen, bench = _load("gen_scans"), _load("bench_tracing")
    gen.generate(tmp_path, persons=3_000, days=3, threads=1)
    policy = load_policy("national-9")
    pos = bench.positives(tmp_path, 20, 7, policy)
    files = SCAN_STREAM.files(lake_root(tmp_path))

    made = bench.run_fangkong(tmp_path, pos, policy, bench.categories(tmp_path), "duckdb")
    assert made is not None
    tracer, split = made
    fangkong = tracer(pos)()
    by_keys, _, _ = bench.run_sql(tmp_path, files, pos, policy, "2GB")
    by_ids, _, _ = bench.run_sql(tmp_path, files, pos, policy, "2GB", ids=True)
    by_pandas, _, _ = bench.run_pandas(tmp_path, files, pos, policy)

    assert {c[2] for c in fangkong} == {"close", "general"}
    assert fangkong == by_keys == by_ids == by_pandas
    assert {c[1] for c in fangkong} <= set(bench.person_ids(tmp_path))
    assert split["exposures_s"] > 0
