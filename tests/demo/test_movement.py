"""Daily movement of the synthetic city, and the benchmark's scan generator at a tiny scale."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fangkong.clock import LOCAL_TZ
from fangkong.demo import movement
from fangkong.demo.city import City, build_city
from fangkong.demo.outbreak import CaseRow, replay
from fangkong.lake import keys
from fangkong.lake.layout import SCAN_STREAM, SCANS, STORED_SCANS, lake_root
from fangkong.policy import load_policy
from tests.lakes import lake_scans

SEED = 2022
POLICY = load_policy("zibo-2022-03")
START, END = date(2022, 3, 7), date(2022, 3, 13)  # Monday to Sunday


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(seed=SEED, scale=0.05)


@pytest.fixture(scope="module")
def cases(city: City) -> tuple[CaseRow, ...]:
    return replay(city, seed=SEED)


@pytest.fixture(scope="module")
def week(city: City) -> pa.Table:
    return movement.generate(city, start=START, end=END, seed=SEED)


def _local_days(table: pa.Table) -> list[date]:
    return [t.astimezone(LOCAL_TZ).date() for t in table["entered_at"].to_pylist()]


def test_the_same_seed_gives_the_same_scans(city: City, week: pa.Table) -> None:
    assert movement.generate(city, start=START, end=END, seed=SEED).equals(week)
    assert not movement.generate(city, start=START, end=END, seed=SEED + 1).equals(week)


def test_a_day_does_not_depend_on_the_range_asked_for(city: City, week: pa.Table) -> None:
    day = START + timedelta(days=3)
    alone = movement.generate(city, start=day, end=day, seed=SEED)
    mask = pa.array([d == day for d in _local_days(week)])
    assert week.filter(mask).equals(alone)


def test_scans_are_inside_the_range_and_well_formed(city: City, week: pa.Table) -> None:
    assert week.schema == movement.RAW_SCANS
    assert week.num_rows > len(city.persons) * 7 // 2
    assert set(_local_days(week)) == {START + timedelta(days=n) for n in range(7)}
    known = week.filter(pc.is_valid(week["left_at"]))
    assert pc.all(pc.less(known["entered_at"], known["left_at"])).as_py()
    share = week["left_at"].null_count / week.num_rows
    assert 0.1 < share < 0.3


def test_venue_codes_exist_in_the_city(city: City, week: pa.Table) -> None:
    codes = {v.venue_code for v in city.venues}
    assert set(week["venue_code"].to_pylist()) <= codes
    assert set(movement.workplace_venues(city).values()) <= codes


def test_a_persons_visits_never_overlap(week: pa.Table) -> None:
    visits: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p, e, left in zip(
        week["person_id"].to_pylist(),
        week["entered_at"].cast(pa.int64()).to_pylist(),
        week["left_at"].cast(pa.int64()).to_pylist(),
        strict=True,
    ):
        visits[p].append((e, left if left is not None else e))
    for spans in visits.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_pupils_scan_their_school_on_weekdays(city: City, week: pa.Table) -> None:
    category = {v.venue_code: v.category for v in city.venues}
    pupils = {p.person_id for p in city.persons if p.workplace_unit.endswith("班")}
    assert pupils
    at_school: dict[str, set[date]] = defaultdict(set)
    for p, v, day in zip(
        week["person_id"].to_pylist(),
        week["venue_code"].to_pylist(),
        _local_days(week),
        strict=True,
    ):
        if p in pupils and category[v] == "school":
            at_school[p].add(day)
    weekdays = {START + timedelta(days=n) for n in range(5)}
    assert all(at_school[p] == weekdays for p in pupils)


def test_workers_commute_and_shop_at_plausible_hours(city: City, week: pa.Table) -> None:
    category = {v.venue_code: v.category for v in city.venues}
    hours: dict[str, list[int]] = defaultdict(list)
    for v, t in zip(week["venue_code"].to_pylist(), week["entered_at"].to_pylist(), strict=True):
        hours[category[v]].append(t.astimezone(LOCAL_TZ).hour)
    assert all(6 <= h <= 9 for h in hours["school"])
    assert all(6 <= h <= 18 for h in hours["bus"])
    assert all(h >= 11 for h in hours["mall"])
    assert {"supermarket", "market", "restaurant", "factory", "school"} <= set(hours)


def test_every_case_has_movement_before_its_report_day(
    city: City, cases: tuple[CaseRow, ...]
) -> None:
    raw = movement.demo_scans(city, cases, policy=POLICY.tracing, seed=SEED)
    start, end = movement.demo_range(cases, POLICY.tracing)
    first_seen: dict[str, date] = {}
    last_seen: dict[str, date] = {}
    for p, day in zip(raw["person_id"].to_pylist(), _local_days(raw), strict=True):
        first_seen[p] = min(day, first_seen.get(p, day))
        last_seen[p] = max(day, last_seen.get(p, day))
    for case in cases:
        assert case.person_id in first_seen, case.case_no
        assert first_seen[case.person_id] < case.reported_on
        # isolated from the report day on
        assert last_seen[case.person_id] < case.reported_on
        window_start = (case.onset_on or case.sampled_on) - timedelta(
            days=POLICY.tracing.lookback_days
        )
        assert start <= window_start
    assert end == max(c.reported_on for c in cases)


def test_to_lake_fills_missing_exits_from_the_policy(city: City, week: pa.Table) -> None:
    lake = movement.to_lake(week, city, POLICY.tracing)
    assert lake.schema == SCANS
    assert lake.num_rows == week.num_rows
    assert lake["left_at"].null_count == 0
    assert pc.sum(lake["left_at_inferred"]).as_py() == week["left_at"].null_count
    category = {v.venue_code: v.category for v in city.venues}
    inferred = lake.filter(lake["left_at_inferred"])
    for v, e, left in zip(
        inferred["venue_code"].to_pylist(),
        inferred["entered_at"].to_pylist(),
        inferred["left_at"].to_pylist(),
        strict=True,
    ):
        assert left - e == timedelta(minutes=POLICY.tracing.stay_for(category[v]))
    order = list(zip(lake["venue_code"].to_pylist(), lake["entered_at"].to_pylist(), strict=True))
    assert order == sorted(order)


def test_csv_rows_are_local_iso_times(week: pa.Table) -> None:
    rows = list(movement.csv_rows(week.slice(0, 50)))
    assert len(rows) == 50
    for _, _, entered, left in rows:
        assert entered.endswith("+08:00")
        assert left == "" or left.endswith("+08:00")


# ---------------------------------------------------------------- benchmarks/gen_scans.py


def _gen_scans() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "gen_scans.py"
    spec = importlib.util.spec_from_file_location("gen_scans", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_scans"] = module
    spec.loader.exec_module(module)
    return module


def test_gen_scans_writes_a_compacted_lake(tmp_path: Path) -> None:
    gen = _gen_scans()
    report = gen.generate(tmp_path, persons=1_000, days=2, scans_per_day=10, threads=1)
    assert report["rows"] == 20_000
    lake = lake_root(tmp_path)
    assert SCAN_STREAM.days(lake) == [date(2022, 3, 8), date(2022, 3, 9)]
    files = SCAN_STREAM.files(lake)
    assert [f.parent.name for f in files] == ["day=2022-03-08", "day=2022-03-09"]
    assert all(f.name.startswith("compact-") for f in files)
    assert not list(tmp_path.rglob("_*.parquet"))  # no work file left behind
    total = 0
    for f in files:
        table = pq.read_table(f)
        stored = [(x.name, x.type) for x in STORED_SCANS]
        assert [(x.name, x.type) for x in table.schema] == stored
        order = list(
            zip(table["venue_key"].to_pylist(), table["entered_at"].to_pylist(), strict=True)
        )
        assert order == sorted(order)
        day = date.fromisoformat(f.parent.name[4:])
        assert {t.astimezone(LOCAL_TZ).date() for t in table["entered_at"].to_pylist()} == {day}
        assert pc.all(pc.less(table["entered_at"], table["left_at"])).as_py()
        total += table.num_rows
    assert total == 20_000
    by_person = sorted((lake / "scans_by_person").glob("day=*/*.parquet"))
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in by_person) == 20_000
    people = pq.read_table(tmp_path / "people.parquet")
    assert people.num_rows == 1_000
    assert people.column_names == ["person_id", "household_id", "unit_id"]
    venues = pq.read_table(tmp_path / "venues.parquet")
    # The dictionaries name exactly the people and venues generated, and the reader with ids
    # sees every scan.
    assert keys.values(lake, keys.PERSON).to_pylist() == people["person_id"].to_pylist()
    assert keys.values(lake, keys.VENUE).to_pylist() == venues["venue_code"].to_pylist()
    assert lake_scans(lake).num_rows == 20_000


def test_gen_scans_is_deterministic(tmp_path: Path) -> None:
    gen = _gen_scans()
    gen.generate(tmp_path / "a", persons=300, days=1, threads=1, person_index=False)
    gen.generate(tmp_path / "b", persons=300, days=1, threads=1, person_index=False)
    a = pq.read_table(SCAN_STREAM.files(lake_root(tmp_path / "a"))[0])
    b = pq.read_table(SCAN_STREAM.files(lake_root(tmp_path / "b"))[0])
    assert a.equals(b)
