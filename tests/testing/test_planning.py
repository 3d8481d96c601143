"""Sampling-point planning follows the guide's ratios (RULES §5); the workbook shows the plan."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from fangkong.clock import LOCAL_TZ
from fangkong.testing.plan_xlsx import plan_workbook
from fangkong.testing.planning import (
    GUIDE_3RD_EDITION,
    CommunityPopulation,
    Plan,
    PlanRatios,
    PlanTotals,
    plan_points,
)

# 8:00 on 23 March 2022, Shanghai time: a round starting in the morning.
START = datetime(2022, 3, 23, 8, 0, tzinfo=LOCAL_TZ)
END = START + timedelta(hours=24)


def community(
    population: int,
    code: str = "370303001001",
    *,
    street: str = "南定镇",
    district: str = "张店区",
) -> CommunityPopulation:
    return CommunityPopulation(
        code=code, name=f"社区{code[-3:]}", street=street, district=district, population=population
    )


def plan_one(population: int, *, slot_minutes: int = 60, ratios: PlanRatios = PlanRatios()) -> Plan:
    return plan_points(
        [community(population)],
        window_start=START,
        window_end=END,
        slot_minutes=slot_minutes,
        ratios=ratios,
    )


# -- the guide's arithmetic --------------------------------------------------------------


def test_2500_people_get_one_point_with_7_staff_and_4_tables() -> None:
    plan = plan_one(2500)
    (point,) = plan.communities[0].points
    assert point.code == "370303001001-P01"
    assert point.population_served == 2500
    assert point.staff == 7  # ceil(2500 / 360)
    assert point.tables == 4  # ceil(2500 / 800)
    assert plan.totals == PlanTotals(population=2500, points=1, staff=7, tables=4)


def test_6001_people_get_three_points_split_evenly() -> None:
    points = plan_one(6001).communities[0].points
    assert [p.code for p in points] == [f"370303001001-P0{i}" for i in (1, 2, 3)]
    assert [p.population_served for p in points] == [2001, 2000, 2000]
    assert [p.staff for p in points] == [6, 6, 6]
    assert [p.tables for p in points] == [3, 3, 3]


def test_no_people_no_points() -> None:
    plan = plan_one(0)
    assert plan.communities[0].points == ()
    assert plan.totals == PlanTotals(population=0, points=0, staff=0, tables=0)


def test_a_small_community_still_gets_its_own_point() -> None:
    # 1,200 < 2,000: the guide's minimum sizes points, it does not merge communities.
    (point,) = plan_one(1200).communities[0].points
    assert (point.population_served, point.staff, point.tables) == (1200, 4, 2)


def test_exactly_the_maximum_fits_one_point() -> None:
    assert len(plan_one(3000).communities[0].points) == 1
    assert len(plan_one(3001).communities[0].points) == 2


def test_other_ratios_from_a_policy() -> None:
    ratios = PlanRatios(
        people_per_point_min=1000,
        people_per_point_max=1500,
        people_per_staff=300,
        people_per_table_min=400,
        people_per_table_max=500,
        source="local notice",
    )
    plan = plan_one(3001, ratios=ratios)
    assert [p.population_served for p in plan.communities[0].points] == [1001, 1000, 1000]
    assert [p.staff for p in plan.communities[0].points] == [4, 4, 4]
    assert [p.tables for p in plan.communities[0].points] == [3, 2, 2]
    assert plan.ratios.source == "local notice"


def test_defaults_are_the_guide() -> None:
    ratios = PlanRatios()
    assert (
        ratios.people_per_point_min,
        ratios.people_per_point_max,
        ratios.people_per_staff,
        ratios.people_per_table_min,
        ratios.people_per_table_max,
    ) == (2000, 3000, 360, 600, 800)
    assert ratios.source == GUIDE_3RD_EDITION == "全员核酸检测组织实施指南（第三版）, 2022-03-22"


def test_totals_add_up_across_communities_and_districts() -> None:
    plan = plan_points(
        [
            community(2500, "A"),
            community(6001, "B", district="周村区", street="丝绸路街道"),
            community(0, "C"),
        ],
        window_start=START,
        window_end=END,
    )
    assert plan.totals == PlanTotals(population=8501, points=4, staff=25, tables=13)
    assert plan.district_totals() == {
        "周村区": PlanTotals(population=6001, points=3, staff=18, tables=9),
        "张店区": PlanTotals(population=2500, points=1, staff=7, tables=4),
    }


# -- time slots --------------------------------------------------------------------------


def test_hourly_slots_over_a_day() -> None:
    (point,) = plan_one(2500).communities[0].points
    assert len(point.slots) == 24
    assert point.slots[0].starts_at == START
    assert point.slots[-1].ends_at == END
    assert all(s.ends_at == n.starts_at for s, n in pairwise(point.slots))
    # 2500 = 24 * 104 + 4: the first four hours take one more person
    assert [s.expected_people for s in point.slots] == [105] * 4 + [104] * 20


def test_a_short_last_slot_expects_fewer_people() -> None:
    plan = plan_points(
        [community(3000)], window_start=START, window_end=START + timedelta(minutes=90)
    )
    (point,) = plan.communities[0].points
    assert [(s.ends_at - s.starts_at) for s in point.slots] == [
        timedelta(minutes=60),
        timedelta(minutes=30),
    ]
    assert [s.expected_people for s in point.slots] == [2000, 1000]


def test_window_is_stored_in_utc() -> None:
    plan = plan_one(100)
    assert plan.window_start == datetime(2022, 3, 23, 0, 0, tzinfo=UTC)
    assert plan.window_start.tzinfo is UTC


# -- properties ----------------------------------------------------------------------------

populations = st.integers(0, 200_000)
windows = st.integers(1, 24 * 60 * 60).map(lambda s: timedelta(seconds=s))
slot_lengths = st.integers(10, 180)


@settings(max_examples=60, deadline=None)
@given(
    pops=st.lists(populations, min_size=1, max_size=4),
    window=windows,
    slot_minutes=slot_lengths,
)
def test_plan_properties(pops: list[int], window: timedelta, slot_minutes: int) -> None:
    ratios = PlanRatios()
    plan = plan_points(
        [community(pop, f"C{i}") for i, pop in enumerate(pops)],
        window_start=START,
        window_end=START + window,
        slot_minutes=slot_minutes,
    )
    slot_count = math.ceil(window / timedelta(minutes=slot_minutes))
    for community_plan, pop in zip(plan.communities, pops, strict=True):
        points = community_plan.points
        served = [p.population_served for p in points]
        assert sum(served) == pop
        assert len(points) == math.ceil(pop / ratios.people_per_point_max)
        assert all(0 < s <= ratios.people_per_point_max for s in served)
        if served:
            assert max(served) - min(served) <= 1
        for point in points:
            assert point.staff * ratios.people_per_staff >= point.population_served
            assert point.tables >= 1
            assert point.tables * ratios.people_per_table_max >= point.population_served
            assert len(point.slots) == slot_count
            assert sum(s.expected_people for s in point.slots) == point.population_served
            assert point.slots[0].starts_at == START
            assert point.slots[-1].ends_at == START + window
    assert plan.totals.population == sum(pops)
    assert plan.totals == sum(plan.district_totals().values(), PlanTotals())


@given(population=populations)
def test_the_guide_minimum_holds_wherever_a_split_can_meet_it(population: int) -> None:
    points = plan_one(population, slot_minutes=24 * 60).communities[0].points
    if population >= 2000 * len(points):
        assert all(p.population_served >= 2000 for p in points)


# -- bad input -----------------------------------------------------------------------------


def test_naive_window_is_rejected() -> None:
    naive = datetime(2022, 3, 23, 8, 0)  # noqa: DTZ001  (the point of the test)
    with pytest.raises(ValueError, match="window_start must be timezone-aware"):
        plan_points([community(1)], window_start=naive, window_end=END)
    with pytest.raises(ValueError, match="window_end must be timezone-aware"):
        plan_points([community(1)], window_start=START, window_end=naive + timedelta(days=1))


@pytest.mark.parametrize("end", [START, START - timedelta(minutes=1)])
def test_window_must_end_after_it_starts(end: datetime) -> None:
    with pytest.raises(ValueError, match="must be after window_start"):
        plan_points([community(1)], window_start=START, window_end=end)


def test_same_instant_in_another_zone_is_an_empty_window() -> None:
    with pytest.raises(ValueError, match="must be after"):
        plan_points([community(1)], window_start=START, window_end=START.astimezone(UTC))


@pytest.mark.parametrize("minutes", [0, -30])
def test_slot_length_must_be_positive(minutes: int) -> None:
    with pytest.raises(ValueError, match="slot_minutes must be positive"):
        plan_one(1, slot_minutes=minutes)


def test_negative_population_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"population must not be negative, got -1"):
        community(-1)


def test_a_community_given_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match="given more than once"):
        plan_points([community(1, "X"), community(2, "X")], window_start=START, window_end=END)


def test_inconsistent_ratios_are_rejected() -> None:
    with pytest.raises(ValueError, match="people_per_point_min"):
        PlanRatios(people_per_point_min=3001)
    with pytest.raises(ValueError, match="people_per_staff must be positive"):
        PlanRatios(people_per_staff=0)


# -- the workbook --------------------------------------------------------------------------


def _rows(sheet: Worksheet) -> list[tuple[object, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def workbook_plan() -> Plan:
    # Given out of order: the workbook sorts by district, street, community code
    # (names by code point: 周 U+5468 before 张 U+5F20).
    return plan_points(
        [
            community(6001, "370303001002"),
            community(2500, "370303001001"),
            community(1200, "370306001001", district="周村区", street="丝绸路街道"),
        ],
        window_start=START,
        window_end=START + timedelta(hours=2),
    )


def test_workbook_sheets_and_points(workbook_plan: Plan) -> None:
    book = load_workbook(io.BytesIO(plan_workbook(workbook_plan, title="第一轮全员核酸检测")))
    assert book.sheetnames == ["采样点", "时段", "汇总"]
    assert book.properties.title == "第一轮全员核酸检测"

    points = book["采样点"]
    rows = _rows(points)
    assert rows[0] == (
        "区县",
        "街道",
        "社区",
        "社区编码",
        "采样点编号",
        "服务人数",
        "采样人员",
        "采样台",
        "开始",
        "结束",
    )
    assert [r[4] for r in rows[1:]] == [
        "370306001001-P01",
        "370303001001-P01",
        "370303001002-P01",
        "370303001002-P02",
        "370303001002-P03",
    ]
    # 8:00–10:00 Shanghai time, stored as local wall time
    assert rows[2] == (
        "张店区",
        "南定镇",
        "社区001",
        "370303001001",
        "370303001001-P01",
        2500,
        7,
        4,
        datetime(2022, 3, 23, 8, 0),  # noqa: DTZ001
        datetime(2022, 3, 23, 10, 0),  # noqa: DTZ001
    )
    assert points["I2"].number_format == "yyyy-mm-dd hh:mm"
    assert points.freeze_panes == "A2"
    assert all(cell.font.bold for cell in points[1])
    assert points.column_dimensions["A"].width >= 8
    assert points.column_dimensions["I"].width >= 16


def test_workbook_slots(workbook_plan: Plan) -> None:
    book = load_workbook(io.BytesIO(plan_workbook(workbook_plan, title="第一轮")))
    slots = book["时段"]
    rows = _rows(slots)
    assert rows[0] == ("点位", "开始", "结束", "预计人数")
    eight, nine, ten = (datetime(2022, 3, 23, h, 0) for h in (8, 9, 10))  # noqa: DTZ001
    assert rows[1:5] == [
        ("370306001001-P01", eight, nine, 600),
        ("370306001001-P01", nine, ten, 600),
        ("370303001001-P01", eight, nine, 1250),
        ("370303001001-P01", nine, ten, 1250),
    ]
    assert len(rows) == 1 + 5 * 2
    assert slots["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert slots.freeze_panes == "A2"


def test_workbook_summary(workbook_plan: Plan) -> None:
    book = load_workbook(io.BytesIO(plan_workbook(workbook_plan, title="第一轮")))
    summary = book["汇总"]
    rows = _rows(summary)
    assert rows[0] == ("区县", "人口", "采样点", "采样人员", "采样台")
    assert rows[1:4] == [
        ("周村区", 1200, 1, 4, 2),
        ("张店区", 8501, 4, 25, 13),
        ("全市合计", 9701, 5, 29, 15),
    ]
    assert summary["A4"].font.bold
    notes = [r[0] for r in rows[4:] if r[0] is not None]
    assert notes[0] == "计划：第一轮"
    assert notes[1] == "时间窗：2022-03-23 08:00 至 2022-03-23 10:00"
    assert "2000–3000" in notes[2]
    assert "÷ 360" in notes[2]
    assert "600–800" in notes[2]
    assert GUIDE_3RD_EDITION in notes[2]
