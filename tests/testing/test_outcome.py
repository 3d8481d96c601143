"""A round's outcome: states as pooling.person_state says, recall list, coverage, progress,
turnaround, the files replaced as a whole."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.errors import InvalidInput, NotFound
from fangkong.testing import lake as tlake
from fangkong.testing.outcome import (
    RoundCounts,
    apply_round,
    read_coverage,
    read_positives,
    read_progress,
    read_recall,
    read_status,
    read_turnaround,
)
from fangkong.testing.pooling import (
    PoolResult,
    entropy_floor,
    expected_tests_per_person,
    person_state,
)

R = "R2022-04-04"
SHANGHAI = timedelta(hours=8)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time of April 2022, as UTC."""
    return datetime(2022, 4, day, hour, minute, tzinfo=UTC) - SHANGHAI


def put_samples(lake: Path, rows: list[tuple[str, str, int, str, datetime]]) -> None:
    table = pa.Table.from_pylist(
        [
            {
                "round_code": R,
                "person_id": person,
                "tube_barcode": tube,
                "tube_size": size,
                "point_code": point,
                "sampled_at": at,
            }
            for person, tube, size, point, at in rows
        ],
        schema=tlake.SAMPLES,
    )
    pq.write_table(table, tlake.SAMPLE_STREAM.new_part(lake, R))


def put_results(lake: Path, rows: list[tuple[str, str, str, datetime]]) -> None:
    table = pa.Table.from_pylist(
        [
            {
                "tube_barcode": tube,
                "result": result,
                "lab": lab,
                "resulted_at": at,
                "ct_orf1ab": 30.0 if result == "positive" else None,
                "ct_n": None,
                "source": "test",
            }
            for tube, result, lab, at in rows
        ],
        schema=tlake.TUBE_RESULTS,
    )
    pq.write_table(table, tlake.RESULT_STREAM.new_part(lake, R))


def put_due(path: Path, rows: list[tuple[str, int | None, str, str]]) -> Path:
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array([r[0] for r in rows], pa.string()),
                "community_id": pa.array([r[1] for r in rows], pa.int64()),
                "community_name": pa.array(
                    [None if r[1] is None else f"社区{r[1]}" for r in rows], pa.string()
                ),
                "street_code": pa.array([r[2] for r in rows], pa.string()),
                "district_code": pa.array([r[3] for r in rows], pa.string()),
            }
        ),
        path,
    )
    return path


def exemptions(rows: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.string()),
            "reason": pa.array([r[1] for r in rows], pa.string()),
        }
    )


# ---------------------------------------------------------------------------- a small round

DUE = [
    ("P1", 1, "S1", "D1"),
    ("P2", 1, "S1", "D1"),
    ("P3", 1, "S1", "D1"),
    ("P4", 1, "S1", "D1"),
    ("P5", 2, "S1", "D1"),
    ("P6", 2, "S1", "D1"),
    ("P7", 2, "S1", "D1"),
    ("P8", 3, "S2", "D2"),
    ("P9", 3, "S2", "D2"),
]
EXEMPT = [("P7", "hospital"), ("P4", "quarantine"), ("V1", "other")]
POINTS = pa.table({"point_code": ["A", "B"], "community_id": pa.array([1, 3], pa.int64())})


@pytest.fixture
def round_lake(tmp_path: Path) -> tuple[Path, Path]:
    """Pools T1 (positive), T2 (negative), T4 (pending), a single T3 (invalid), and the
    single-tube retests R1 (positive) and R2 (negative) of T1's P1 and P2; T1 was closed."""
    lake = tmp_path / "lake"
    put_samples(
        lake,
        [
            ("P1", "T1", 10, "A", local(4, 8, 0)),
            ("P2", "T1", 10, "A", local(4, 8, 10)),
            ("P3", "T1", 10, "A", local(4, 8, 20)),
            ("P4", "T2", 10, "A", local(4, 9, 0)),
            ("P5", "T2", 10, "A", local(4, 9, 5)),
            ("P8", "T3", 1, "A", local(4, 9, 30)),
            ("P9", "T4", 5, "B", local(4, 10, 0)),
            ("V1", "T4", 5, "B", local(4, 10, 10)),
        ],
    )
    put_samples(
        lake,
        [("P1", "R1", 1, "A", local(5, 8, 0)), ("P2", "R2", 1, "A", local(5, 8, 30))],
    )
    put_results(
        lake,
        [
            ("T1", "positive", "LAB1", local(4, 16, 0)),
            ("T2", "negative", "LAB1", local(4, 15, 5)),
            ("T3", "invalid", "LAB2", local(4, 12, 30)),
            ("R1", "positive", "LAB2", local(5, 14, 0)),
            ("R2", "negative", "LAB2", local(5, 12, 30)),
        ],
    )
    closures = pa.Table.from_pylist(
        [{"tube_barcode": "T1", "point_code": "A", "closed_at": local(4, 8, 30)}],
        schema=tlake.TUBE_CLOSURES,
    )
    pq.write_table(closures, tlake.CLOSURE_STREAM.new_part(lake, R))
    return lake, put_due(tmp_path / "due.parquet", DUE)


def test_states_counts_and_tests(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    outcome = apply_round(lake, R, due, exemptions(EXEMPT), points=POINTS)
    states = {r["person_id"]: r["state"] for r in read_status(lake, R).to_pylist()}
    assert states == {
        "P1": "positive",
        "P2": "cleared",  # a single tube after the pool, negative
        "P3": "pool_positive",  # not re-sampled yet
        "P4": "cleared",  # exempted but sampled: counts as sampled
        "P5": "cleared",
        "P6": "missing",
        "P7": "exempt",
        "P8": "retest",
        "P9": "pending",
        "V1": "pending",
    }
    assert outcome.counts == RoundCounts(
        due=9,
        sampled=7,
        sampled_not_due=1,
        exempt=1,
        missing=1,
        pending=2,
        cleared=3,
        pool_positive=1,
        positive=1,
        retest=1,
    )
    assert (outcome.tubes_first_stage, outcome.tubes_retest, outcome.tubes_resulted) == (4, 2, 5)
    assert outcome.persons_sampled == 8
    assert outcome.tests_per_person == pytest.approx(6 / 8)
    assert outcome.positivity == pytest.approx(1 / 8)
    assert outcome.fixed_tests_per_person == expected_tests_per_person(10, 1 / 8)
    assert outcome.entropy_floor == entropy_floor(1 / 8)
    assert set(outcome.files) == {
        "status",
        "recall",
        "positives",
        "coverage",
        "progress",
        "turnaround",
    }
    assert all(path.is_file() for path in outcome.files.values())
    assert set(outcome.seconds) >= {"load", "persons", "status", "coverage", "publish"}


def test_status_rows(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    apply_round(lake, R, due, exemptions(EXEMPT), points=POINTS)
    rows = {r["person_id"]: r for r in read_status(lake, R).to_pylist()}
    assert rows["P1"] == {
        "person_id": "P1",
        "due": True,
        "community_id": 1,
        "community_name": "社区1",
        "street_code": "S1",
        "district_code": "D1",
        "state": "positive",
        "exempt_reason": None,
        "last_tube": "R1",
        "last_sampled_at": local(5, 8, 0),
        "last_point_code": "A",
    }
    assert rows["P7"]["exempt_reason"] == "hospital"
    assert rows["P7"]["last_tube"] is None
    # Not due: placed by the point of the last sample.
    assert (rows["V1"]["due"], rows["V1"]["community_id"], rows["V1"]["street_code"]) == (
        False,
        3,
        "S2",
    )
    missing = read_status(lake, R, community_id=2, states=["missing"]).to_pylist()
    assert [r["person_id"] for r in missing] == ["P6"]
    with pytest.raises(InvalidInput, match="unknown state"):
        read_status(lake, R, states=["lost"])


def test_recall_and_positives(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    apply_round(lake, R, due, exemptions(EXEMPT), points=POINTS)
    assert read_recall(lake, R).to_pylist() == [
        {
            "person_id": "P3",
            "tube_barcode": "T1",
            "tube_size": 10,
            "sampled_at": local(4, 8, 20),
            "point_code": "A",
            "resulted_at": local(4, 16, 0),
            "due": True,
            "community_id": 1,
            "community_name": "社区1",
            "street_code": "S1",
            "district_code": "D1",
        }
    ]
    assert read_recall(lake, R, community_id=2).num_rows == 0
    [positive] = read_positives(lake, R).to_pylist()
    assert {k: positive[k] for k in ("person_id", "tube_barcode", "lab", "ct_orf1ab")} == {
        "person_id": "P1",
        "tube_barcode": "R1",
        "lab": "LAB2",
        "ct_orf1ab": 30.0,
    }
    assert (positive["sampled_at"], positive["resulted_at"]) == (local(5, 8), local(5, 14))


def test_coverage_per_level(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    apply_round(lake, R, due, exemptions(EXEMPT), points=POINTS)
    columns = ("area_code", "due", "sampled", "exempt", "missing", "sampled_not_due", "rate")

    def rows(level: Any, parent: str | None = None) -> list[tuple[Any, ...]]:
        table = read_coverage(lake, R, level, parent).to_pylist()
        return [tuple(r[c] for c in columns) for r in table]

    assert rows("city") == [("city", 9, 7, 1, 1, 1, 7 / 8)]
    assert rows("district") == [("D1", 7, 5, 1, 1, 0, 5 / 6), ("D2", 2, 2, 0, 0, 1, 1.0)]
    assert rows("street", "D1") == [("S1", 7, 5, 1, 1, 0, 5 / 6)]
    assert rows("community", "S1") == [("1", 4, 4, 0, 0, 0, 1.0), ("2", 3, 1, 1, 1, 0, 0.5)]
    assert rows("community", "S2") == [("3", 2, 2, 0, 0, 1, 1.0)]
    [community] = read_coverage(lake, R, "community", "S2").to_pylist()
    assert (community["area_name"], community["community_id"], community["pending"]) == (
        "社区3",
        3,
        2,
    )
    with pytest.raises(InvalidInput, match="unknown level"):
        read_coverage(lake, R, "province")  # type: ignore[arg-type]


def test_without_points_the_not_due_count_in_the_city_only(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    apply_round(lake, R, due, exemptions(EXEMPT))
    [city] = read_coverage(lake, R, "city").to_pylist()
    assert city["sampled_not_due"] == 1
    communities = read_coverage(lake, R, "community").to_pylist()
    assert [c["area_code"] for c in communities] == ["1", "2", "3"]
    assert sum(c["sampled_not_due"] for c in communities) == 0


def test_progress_per_local_hour(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    apply_round(lake, R, due, exemptions(EXEMPT))
    rows = read_progress(lake, R).to_pylist()
    assert len(rows) == 25  # 08:00 on the 4th to 08:00 on the 5th, empty hours included
    assert rows[0]["hour_start"] == local(4, 8)
    assert [(r["samples"], r["persons_new"], r["persons_cumulative"]) for r in rows[:4]] == [
        (3, 3, 3),
        (3, 3, 6),
        (2, 2, 8),
        (0, 0, 8),
    ]
    assert (rows[-1]["hour_start"], rows[-1]["samples"], rows[-1]["persons_cumulative"]) == (
        local(5, 8),
        2,
        8,
    )


def test_turnaround_from_closing_to_result(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    apply_round(lake, R, due, exemptions(EXEMPT))
    # LAB1: T1 closed 08:30 → 16:00 (7.5 h); T2 never closed, last swab 09:05 → 15:05 (6 h).
    # LAB2: T3 09:30 → 12:30 (3 h), R1 08:00 → 14:00 (6 h), R2 08:30 → 12:30 (4 h).
    rows = read_turnaround(lake, R).to_pylist()
    assert [r["lab"] for r in rows] == ["LAB1", "LAB2"]
    assert rows[0]["tubes"] == 2
    assert rows[0]["median_hours"] == pytest.approx(6.75)
    assert rows[0]["p90_hours"] == pytest.approx(6 + 0.9 * 1.5)
    assert rows[0]["max_hours"] == pytest.approx(7.5)
    assert rows[1]["tubes"] == 3
    assert rows[1]["median_hours"] == pytest.approx(4.0)
    assert rows[1]["p90_hours"] == pytest.approx(4 + 0.8 * 2)


def test_the_outcome_is_replaced_as_a_whole(round_lake: tuple[Path, Path]) -> None:
    lake, due = round_lake
    with pytest.raises(NotFound):
        read_status(lake, R)
    first = apply_round(lake, R, due, exemptions(EXEMPT))
    target = os.readlink(first.folder)
    put_samples(lake, [("P3", "R3", 1, "A", local(5, 9))])
    put_results(lake, [("R3", "negative", "LAB2", local(5, 15))])
    second = apply_round(lake, R, due, exemptions(EXEMPT))
    assert second.counts.pool_positive == 0
    assert os.readlink(second.folder) != target
    root = tlake.outcome_root(lake)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [f"round={R}", os.readlink(second.folder)]
    )
    # A run that fails leaves the last outcome as it was.
    with pytest.raises(InvalidInput, match="unknown exemption reason"):
        apply_round(lake, R, due, exemptions([("P6", "bored")]))
    assert os.readlink(second.folder) == os.readlink(tlake.outcome_dir(lake, R))
    assert len(list(root.iterdir())) == 2
    assert read_status(lake, R, states=["pool_positive"]).num_rows == 0


def test_bad_inputs(round_lake: tuple[Path, Path], tmp_path: Path) -> None:
    lake, due = round_lake
    twice = put_due(tmp_path / "twice.parquet", [*DUE, DUE[0]])
    with pytest.raises(InvalidInput, match="more than once: P1"):
        apply_round(lake, R, twice, exemptions([]))
    with pytest.raises(NotFound):
        apply_round(lake, R, tmp_path / "none.parquet", exemptions([]))
    with pytest.raises(InvalidInput, match="fixed_size"):
        apply_round(lake, R, due, exemptions([]), fixed_size=7)
    with pytest.raises(InvalidInput, match="reason"):
        apply_round(lake, R, due, pa.table({"person_id": ["P1"]}))


# ---------------------------------------------------------------------------- properties

RESULTS = [None, *PoolResult]
T0 = datetime(2022, 4, 4, tzinfo=UTC)
# A tube: size, result (None: pending), members as (person, hour sampled); hours repeat so
# that swabs at the same instant are drawn too.
tube_strategy = st.tuples(
    st.sampled_from([1, 5, 10]),
    st.sampled_from(RESULTS),
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 4)),
        min_size=1,
        max_size=4,
        unique_by=lambda m: m[0],
    ),
)


@settings(max_examples=30, deadline=None)
@given(st.lists(tube_strategy, min_size=1, max_size=10), st.booleans())
def test_sql_states_equal_person_state(
    tubes: list[tuple[int, PoolResult | None, list[tuple[int, int]]]], all_due: bool
) -> None:
    records: dict[str, list[tuple[datetime, int, PoolResult | None]]] = defaultdict(list)
    samples: list[tuple[str, str, int, str, datetime]] = []
    results: list[tuple[str, str, str, datetime]] = []
    for i, (size, result, members) in enumerate(tubes):
        tube = f"T{i}"
        for person, hour in members[:size]:
            at = T0 + timedelta(hours=hour)
            samples.append((f"P{person}", tube, size, "A", at))
            records[f"P{person}"].append((at, size, result))
        if result is not None:
            results.append((tube, str(result), "LAB", T0 + timedelta(days=1)))
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder) / "lake"
        put_samples(lake, samples)
        if results:
            put_results(lake, results)
        people = range(6) if all_due else range(0, 6, 2)
        due = put_due(Path(folder) / "due.parquet", [(f"P{p}", 1, "S", "D") for p in people])
        apply_round(lake, R, due, exemptions([]))
        got = {r["person_id"]: r["state"] for r in read_status(lake, R).to_pylist()}
    for person, person_records in records.items():
        expected = person_state(person_records)
        assert got[person] == (expected.value if expected else "pending"), person_records


# Persons due: (community 0-5, or 6: on street S0 but in no community, sampled, exempt);
# streets are pairs of communities and districts pairs of streets.
person_strategy = st.tuples(st.integers(0, 6), st.booleans(), st.booleans())


@settings(max_examples=20, deadline=None)
@given(
    st.lists(person_strategy, max_size=20),
    st.lists(st.booleans(), max_size=4),
    st.booleans(),
)
def test_coverage_adds_up(
    persons: list[tuple[int, bool, bool]], visitors: list[bool], with_points: bool
) -> None:
    due_rows = [
        (f"P{i}", None if c == 6 else c, f"S{c // 2 % 3}", f"D{c // 2 % 3 // 2}")
        for i, (c, _, _) in enumerate(persons)
    ]
    sampled = [f"P{i}" for i, (_, s, _) in enumerate(persons) if s]
    exempted = [f"P{i}" for i, (_, _, e) in enumerate(persons) if e]
    visiting = [f"V{i}" for i in range(len(visitors))]
    exempted += [v for v, e in zip(visiting, visitors, strict=True) if e]
    at = T0 + timedelta(hours=1)
    samples = [(p, f"T-{p}", 1, "A", at) for p in [*sampled, *visiting]]
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder) / "lake"
        if samples:
            put_samples(lake, samples)
        due = put_due(Path(folder) / "due.parquet", due_rows)
        points = POINTS if with_points else None
        outcome = apply_round(
            lake, R, due, exemptions([(p, "other") for p in exempted]), points=points
        )
        levels = {
            level: read_coverage(lake, R, level).to_pylist()
            for level in ("community", "street", "district", "city")
        }
    counted = ("due", "sampled", "exempt", "missing")
    states = ("pending", "cleared", "pool_positive", "positive", "retest", "missing", "exempt")
    for rows in levels.values():
        for row in rows:
            assert row["sampled"] + row["exempt"] + row["missing"] == row["due"]
            assert sum(row[s] for s in states) == row["due"] + row["sampled_not_due"]
    [city] = levels["city"]
    assert city["due"] == len(persons)
    assert city["sampled"] == len(sampled)
    assert city["exempt"] == len(set(exempted) - set(sampled) - set(visiting))
    assert city["sampled_not_due"] == len(visiting)
    for level in ("street", "district"):
        for column in counted:
            assert sum(r[column] for r in levels[level]) == city[column]
    placed_due = sum(1 for c, _, _ in persons if c != 6)
    assert sum(r["due"] for r in levels["community"]) == placed_due
    placed = len(visiting) if with_points else 0
    assert sum(r["sampled_not_due"] for r in levels["community"]) == placed
    assert outcome.counts.due == city["due"]
    assert outcome.persons_sampled == len(sampled) + len(visiting)
