"""Daily statistics as pure functions: case contributions, deltas and the day series."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.cases.stats import (
    CaseFacts,
    Cell,
    DayFigures,
    contributions,
    day_series,
    delta,
    recount,
)
from fangkong.policy import Policy, load_policy

ZC = "370306"  # 周村区
HT = "370321"  # 桓台县
WCH = "3703-wch"  # 文昌湖区
P9 = load_policy("national-9")


def D(day: int, month: int = 3) -> date:
    return date(2022, month, day)


def case(**kw: object) -> CaseFacts:
    base: dict[str, object] = {
        "city_code": "3703",
        "unit_code": ZC,
        "origin": "local",
        "reported_classification": "asymptomatic",
        "found_via": "quarantine_site",
        "reported_on": D(20),
    }
    base.update(kw)
    return CaseFacts(**base)  # type: ignore[arg-type]


def many(n: int, **kw: object) -> list[CaseFacts]:
    return [case(**kw) for _ in range(n)]


def by_day(cases: Iterable[CaseFacts]) -> dict[date, dict[str, int]]:
    """The city's metrics per day, summed over units, as the service reads them."""
    out: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (day, _city, _unit, metric), value in recount(cases).items():
        out[day][metric] += value
    return {d: dict(m) for d, m in out.items()}


def series(
    cases: Iterable[CaseFacts],
    start: date,
    end: date,
    *,
    policy: Policy = P9,
    since: date | None = None,
    population: int | None = None,
) -> dict[date, DayFigures]:
    figures = day_series(
        by_day(cases), start=start, end=end, policy=policy, since=since, population=population
    )
    return {f.day: f for f in figures}


def with_community(policy: Policy, **values: object) -> Policy:
    return policy.model_copy(update={"community": policy.community.model_copy(update=values)})


# ---------------------------------------------------------------- contributions and delta


def test_contributions_of_a_new_case() -> None:
    assert contributions(case()) == Counter(
        {
            (D(20), "3703", ZC, "new:local:asymptomatic"): 1,
            (D(20), "3703", ZC, "via:local:quarantine_site"): 1,
        }
    )


def test_contributions_of_converted_and_discharged_case() -> None:
    cells = contributions(case(converted_on=D(22), discharged_on=D(30)))
    assert cells[(D(20), "3703", ZC, "new:local:asymptomatic")] == 1
    assert cells[(D(22), "3703", ZC, "converted:local")] == 1
    assert cells[(D(30), "3703", ZC, "discharged:local")] == 1
    assert len(cells) == 4


def test_unknown_channel_and_imported_origin_have_their_own_metrics() -> None:
    cells = contributions(
        case(found_via=None, origin="abroad", reported_classification="confirmed")
    )
    assert set(cells) == {
        (D(20), "3703", ZC, "new:abroad:confirmed"),
        (D(20), "3703", ZC, "via:abroad:unknown"),
    }


def test_delta_of_create_and_delete() -> None:
    c = case()
    assert delta(None, c) == dict(contributions(c))
    assert delta(c, None) == {cell: -n for cell, n in contributions(c).items()}
    assert delta(c, c) == {}
    assert delta(None, None) == {}


def test_delta_of_an_edit_that_changes_no_counted_field() -> None:
    # onset, names, notes are not in CaseFacts: editing them changes no count.
    assert delta(case(), replace(case())) == {}


def test_delta_of_conversion_touches_only_the_conversion_day() -> None:
    before = case()
    assert delta(before, replace(before, converted_on=D(22))) == {
        (D(22), "3703", ZC, "converted:local"): 1
    }


def test_delta_of_discharge() -> None:
    before = case(converted_on=D(22))
    assert delta(before, replace(before, discharged_on=D(25))) == {
        (D(25), "3703", ZC, "discharged:local"): 1
    }


def test_delta_of_moving_a_case_to_another_unit_moves_every_cell() -> None:
    before = case(converted_on=D(22))
    after = replace(before, unit_code=WCH)
    assert delta(before, after) == {
        (D(20), "3703", ZC, "new:local:asymptomatic"): -1,
        (D(20), "3703", ZC, "via:local:quarantine_site"): -1,
        (D(22), "3703", ZC, "converted:local"): -1,
        (D(20), "3703", WCH, "new:local:asymptomatic"): 1,
        (D(20), "3703", WCH, "via:local:quarantine_site"): 1,
        (D(22), "3703", WCH, "converted:local"): 1,
    }


def test_delta_of_moving_a_case_to_another_city() -> None:
    after = replace(case(), city_code="3713", unit_code="371302")
    change = delta(case(), after)
    assert change[(D(20), "3713", "371302", "new:local:asymptomatic")] == 1
    assert change[(D(20), "3703", ZC, "new:local:asymptomatic")] == -1


def test_delta_of_origin_change() -> None:
    change = delta(case(), case(origin="other_province"))
    assert change == {
        (D(20), "3703", ZC, "new:local:asymptomatic"): -1,
        (D(20), "3703", ZC, "via:local:quarantine_site"): -1,
        (D(20), "3703", ZC, "new:other_province:asymptomatic"): 1,
        (D(20), "3703", ZC, "via:other_province:quarantine_site"): 1,
    }


def test_delta_of_reclassification_and_channel_change() -> None:
    change = delta(case(), case(reported_classification="confirmed", found_via="fever_clinic"))
    assert change == {
        (D(20), "3703", ZC, "new:local:asymptomatic"): -1,
        (D(20), "3703", ZC, "new:local:confirmed"): 1,
        (D(20), "3703", ZC, "via:local:quarantine_site"): -1,
        (D(20), "3703", ZC, "via:local:fever_clinic"): 1,
    }


def test_delta_of_report_day_change_keeps_conversion_day() -> None:
    before = case(converted_on=D(22))
    change = delta(before, replace(before, reported_on=D(21)))
    assert (D(22), "3703", ZC, "converted:local") not in change
    assert change[(D(21), "3703", ZC, "new:local:asymptomatic")] == 1
    assert change[(D(20), "3703", ZC, "new:local:asymptomatic")] == -1


facts_strategy = st.builds(
    CaseFacts,
    city_code=st.just("3703"),
    unit_code=st.sampled_from([ZC, HT, WCH]),
    origin=st.sampled_from(["local", "abroad", "other_province"]),
    reported_classification=st.sampled_from(["confirmed", "asymptomatic"]),
    found_via=st.sampled_from([None, "quarantine_site", "community_screening"]),
    reported_on=st.dates(D(1), D(10)),
    converted_on=st.none() | st.dates(D(10), D(20)),
    discharged_on=st.none() | st.dates(D(10), D(30)),
)


@given(st.lists(facts_strategy, min_size=1, max_size=8))
def test_deltas_along_a_history_sum_to_the_last_state(history: list[CaseFacts]) -> None:
    total: Counter[Cell] = Counter()
    previous = None
    for state in history:
        total.update(delta(previous, state))
        previous = state
    assert +total == contributions(history[-1])
    assert all(v >= 0 for v in total.values())


@given(st.lists(facts_strategy, max_size=10))
def test_recount_is_the_sum_of_contributions(cases: list[CaseFacts]) -> None:
    expected: Counter[Cell] = Counter()
    for c in cases:
        expected.update(contributions(c))
    assert recount(cases) == expected


# ---------------------------------------------------------------- totals


def test_totals_confirmed_at_report_plus_conversions() -> None:
    cases = [
        *many(2, reported_classification="confirmed", reported_on=D(20)),
        *many(3, reported_on=D(20)),
        case(reported_on=D(20), converted_on=D(22)),
        case(reported_on=D(21)),
    ]
    s = series(cases, D(20), D(23))
    assert (s[D(20)].total_confirmed, s[D(20)].total_asymptomatic) == (2, 4)
    assert (s[D(21)].total_confirmed, s[D(21)].total_asymptomatic) == (2, 5)
    # the day of the conversion: one moves from A to C
    assert (s[D(22)].conversions, s[D(22)].new_total) == (1, 0)
    assert (s[D(22)].total_confirmed, s[D(22)].total_asymptomatic) == (3, 4)
    assert (s[D(23)].total_confirmed, s[D(23)].total_asymptomatic) == (3, 4)
    assert s[D(20)].new_confirmed == 2
    assert s[D(20)].new_asymptomatic == 4
    assert s[D(20)].new_total == 6


def test_totals_from_since_leave_out_earlier_cases() -> None:
    cases = [*many(5, reported_on=D(1)), *many(2, reported_on=D(8)), case(reported_on=D(9))]
    without = series(cases, D(9), D(9))[D(9)]
    with_since = series(cases, D(9), D(9), since=D(8))[D(9)]
    assert without.total_asymptomatic == 8
    assert with_since.total_asymptomatic == 3
    # the day's own figures do not depend on since
    assert with_since.new_asymptomatic == without.new_asymptomatic == 1


def test_series_reaches_back_for_totals_but_returns_only_start_to_end() -> None:
    figures = day_series(
        by_day([case(reported_on=D(1)), case(reported_on=D(5))]),
        start=D(4),
        end=D(6),
        policy=P9,
    )
    assert [f.day for f in figures] == [D(4), D(5), D(6)]
    assert [f.total_asymptomatic for f in figures] == [1, 2, 2]


def test_discharges_are_counted_and_totalled() -> None:
    cases = [case(discharged_on=D(25)), case(discharged_on=D(25)), case(discharged_on=D(26))]
    s = series(cases, D(25), D(26))
    assert (s[D(25)].discharges, s[D(25)].total_discharged) == (2, 2)
    assert (s[D(26)].discharges, s[D(26)].total_discharged) == (1, 3)
    # discharge does not change the case counts
    assert s[D(26)].total_asymptomatic == 3


def test_imported_cases_stay_out_of_local_figures() -> None:
    cases = [
        case(origin="abroad", found_via="arrival_test"),
        case(origin="other_province", reported_classification="confirmed", found_via=None),
        case(origin="other_province", converted_on=D(21)),
    ]
    s = series(cases, D(20), D(21))
    day = s[D(20)]
    assert (day.imported_abroad, day.imported_other_province) == (1, 2)
    assert (day.new_confirmed, day.new_asymptomatic, day.new_total) == (0, 0, 0)
    assert (day.community, day.under_control) == (0, 0)
    assert (day.total_confirmed, day.total_asymptomatic) == (0, 0)
    assert s[D(21)].conversions == 0
    # imported cases do not start a local outbreak
    assert not day.community_cleared
    assert day.zero_streak == 0


# ---------------------------------------------------------------- community and streaks


def test_found_via_decides_community_or_under_control() -> None:
    cases = [
        case(found_via="quarantine_site"),
        case(found_via="home_isolation"),
        case(found_via="home_monitoring"),
        case(found_via="sealed_zone_screening"),
        case(found_via="controlled_zone_screening"),
        case(found_via="community_screening"),
        case(found_via="fever_clinic"),
        case(found_via="walk_in"),
        case(found_via="arrival_test"),
    ]
    day = series(cases, D(20), D(20))[D(20)]
    assert (day.under_control, day.community) == (5, 4)
    assert day.community_zero is False


def test_unknown_channel_counts_as_community_under_the_default_policy() -> None:
    day = series([case(found_via=None)], D(20), D(20))[D(20)]
    assert (day.under_control, day.community, day.community_zero) == (0, 1, False)


def test_unknown_channel_under_control_when_policy_says_so() -> None:
    lenient = with_community(P9, unknown_channel_is_community=False)
    day = series([case(found_via=None)], D(20), D(20), policy=lenient)[D(20)]
    assert (day.under_control, day.community, day.community_zero) == (1, 0, True)


def test_under_control_channels_come_from_the_policy() -> None:
    strict = with_community(P9, under_control_channels=("quarantine_site",))
    day = series([case(found_via="home_isolation")], D(20), D(20), policy=strict)[D(20)]
    assert (day.under_control, day.community) == (0, 1)


def test_zero_streak_and_community_cleared_after_n_days() -> None:
    cases = [
        case(reported_on=D(10), found_via="community_screening"),
        case(reported_on=D(11), found_via="quarantine_site"),
        case(reported_on=D(14), found_via="walk_in"),
    ]
    s = series(cases, D(10), D(18))
    assert [s[D(d)].zero_streak for d in range(10, 19)] == [0, 1, 2, 3, 0, 1, 2, 3, 4]
    assert [s[D(d)].community_zero for d in range(10, 15)] == [False, True, True, True, False]
    assert [s[D(d)].community_cleared for d in range(10, 19)] == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        True,
        True,
    ]


def test_days_before_the_outbreak_do_not_count_towards_streaks() -> None:
    # The first cases of the outbreak, all in quarantine: the city is not "cleared" and
    # not "stable" on its first day, however far back the series starts.
    cases = [case(reported_on=D(10)), case(reported_on=D(11))]
    for start in (D(1), D(10)):
        s = series(cases, start, D(12))
        assert s[D(10)].zero_streak == 1
        assert not s[D(10)].community_cleared
        assert not s[D(10)].stable_control
        assert not s[D(11)].community_cleared
        assert s[D(12)].community_cleared
        assert s[D(12)].stable_control
    early = series(cases, D(1), D(9))
    assert all(not f.community_cleared and f.zero_streak == 0 for f in early.values())


def test_no_flags_without_any_case() -> None:
    s = series([], D(1), D(10))
    assert len(s) == 10
    assert all(
        f.community_zero and not f.community_cleared and not f.stable_control for f in s.values()
    )


def test_stable_control_needs_n_days_below_m_all_under_control() -> None:
    cases = [
        *many(12, reported_on=D(10)),  # double digits
        *many(9, reported_on=D(11)),
        *many(9, reported_on=D(12)),
        case(reported_on=D(13), found_via="community_screening"),  # one in the community
        *many(1, reported_on=D(14)),
        case(reported_on=D(15)),
    ]
    s = series(cases, D(10), D(17))
    assert [s[D(d)].below_threshold_streak for d in range(10, 18)] == [0, 1, 2, 0, 1, 2, 3, 4]
    assert [s[D(d)].stable_control for d in range(10, 18)] == [
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_zibo_seed_004_stable_control_on_march_22() -> None:
    # Seed 004: "每日新增病例已经连续3天控制在个位数…且都是在集中隔离点中被发现".
    zibo = load_policy("zibo-2022-03")
    cases = [
        *many(30, reported_on=D(18), found_via="community_screening"),
        *many(11, reported_on=D(19), found_via="quarantine_site"),
        *many(6, reported_on=D(20)),
        *many(5, reported_on=D(21)),
        *many(2, reported_on=D(21), unit_code="370302"),
        *many(2, reported_on=D(22)),
        *many(1, reported_on=D(22), unit_code=HT),
    ]
    s = series(cases, D(18), D(22), policy=zibo, since=D(8))
    assert [s[D(d)].new_total for d in (19, 20, 21, 22)] == [11, 6, 7, 3]
    assert s[D(21)].stable_control is False
    assert s[D(22)].stable_control is True
    assert s[D(22)].below_threshold_streak == 3
    assert all(s[D(d)].community_zero for d in (19, 20, 21, 22))
    assert [str(r) for r in s[D(22)].rules] == [
        "zibo-2022-03:community.zero_streak_days",
        "zibo-2022-03:community.stable_control",
    ]


def test_stable_control_threshold_is_strictly_below() -> None:
    cases = [
        *many(10, reported_on=D(10)),
        *many(10, reported_on=D(11)),
        *many(10, reported_on=D(12)),
    ]
    assert not any(f.stable_control for f in series(cases, D(10), D(12)).values())


def test_basic_zero_with_a_population() -> None:
    # 1,000,000 people: below 1/100,000 means at most 9 community cases a day.
    cases = [
        *many(9, reported_on=D(10), found_via="community_screening"),
        *many(9, reported_on=D(11), found_via="community_screening"),
        *many(10, reported_on=D(12), found_via="community_screening"),
        *many(3, reported_on=D(13), found_via="walk_in"),
        *many(1, reported_on=D(14), found_via="walk_in"),
        *many(5, reported_on=D(15), found_via="walk_in"),
    ]
    s = series(cases, D(10), D(16), population=1_000_000)
    assert [s[D(d)].basic_zero_day for d in range(10, 17)] == [
        True,
        True,
        False,
        True,
        True,
        True,
        True,
    ]
    assert [s[D(d)].basic_zero_streak for d in range(10, 17)] == [1, 2, 0, 1, 2, 3, 4]
    assert [s[D(d)].community_basically_cleared for d in range(10, 17)] == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]
    assert not any(f.community_cleared for f in s.values())


def test_basic_zero_unknown_without_population() -> None:
    day = series([case()], D(20), D(20))[D(20)]
    assert day.basic_zero_day is None
    assert (day.basic_zero_streak, day.community_basically_cleared) == (0, False)


# ---------------------------------------------------------------- editions


EDITIONS = ("national-8", "national-9", "measures-20", "zibo-2022-03")


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_edition_names_itself_in_the_rules(edition: str) -> None:
    policy = load_policy(edition)
    day = series([case()], D(20), D(20), policy=policy)[D(20)]
    assert {r.edition for r in day.rules} == {edition}
    assert {r.rule for r in day.rules} == {
        "community.zero_streak_days",
        "community.stable_control",
    }


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_edition_values_drive_the_flags(edition: str) -> None:
    rules = load_policy(edition).community
    n, m = rules.zero_streak_days, rules.stable_control_below
    days = rules.stable_control_days
    # m - 1 new cases a day, all in quarantine, for max(n, days) days
    length = max(n, days)
    cases = [c for d in range(length) for c in many(m - 1, reported_on=D(10) + timedelta(days=d))]
    s = series(cases, D(10), D(10) + timedelta(days=length - 1), policy=load_policy(edition))
    flags = [(f.community_cleared, f.stable_control) for f in s.values()]
    assert [c for c, _ in flags] == [i + 1 >= n for i in range(length)]
    assert [st_ for _, st_ in flags] == [i + 1 >= days for i in range(length)]
    # one more a day (m) breaks the stable-control run but not the community streak
    cases = [c for d in range(length) for c in many(m, reported_on=D(10) + timedelta(days=d))]
    s = series(cases, D(10), D(10) + timedelta(days=length - 1), policy=load_policy(edition))
    assert not any(f.stable_control for f in s.values())
    assert s[D(10) + timedelta(days=length - 1)].community_cleared


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("zero_streak_days", 5, "cleared"),
        ("stable_control_days", 2, "stable"),
        ("stable_control_below", 3, "stable"),
    ],
)
def test_changed_policy_values_are_used(field: str, value: int, check: str) -> None:
    policy = with_community(load_policy("zibo-2022-03"), **{field: value})
    cases = [c for d in range(6) for c in many(2, reported_on=D(10) + timedelta(days=d))]
    s = list(series(cases, D(10), D(15), policy=policy).values())
    if check == "cleared":
        assert [f.community_cleared for f in s] == [False] * 4 + [True] * 2
    elif field == "stable_control_days":
        assert [f.stable_control for f in s] == [False] + [True] * 5
    else:
        # 2 new a day is below 3: stable after the policy's 3 days
        assert [f.stable_control for f in s] == [False, False] + [True] * 4
        tighter = with_community(policy, stable_control_below=2)
        assert not any(
            f.stable_control for f in series(cases, D(10), D(15), policy=tighter).values()
        )


def test_basic_zero_rate_comes_from_the_policy() -> None:
    cases = many(5, reported_on=D(10), found_via="walk_in")
    loose = with_community(P9, basic_zero_per_100k=1.0)
    strict = with_community(P9, basic_zero_per_100k=0.1)
    assert series(cases, D(10), D(10), policy=loose, population=1_000_000)[D(10)].basic_zero_day
    assert not series(cases, D(10), D(10), policy=strict, population=1_000_000)[
        D(10)
    ].basic_zero_day


def test_single_digit_streak_counts_every_channel() -> None:
    # 个位数 counts days below M whatever the channel; 稳定控制期 also needs them under control.
    nine = load_policy("national-9")
    cases = [
        *many(12, reported_on=D(18), found_via="quarantine_site"),
        *many(4, reported_on=D(19), found_via="community_screening"),
        *many(3, reported_on=D(20), found_via="quarantine_site"),
        *many(2, reported_on=D(21), found_via="quarantine_site"),
    ]
    s = series(cases, D(18), D(21), policy=nine)
    assert [s[D(d)].single_digit_streak for d in (18, 19, 20, 21)] == [0, 1, 2, 3]
    assert [s[D(d)].below_threshold_streak for d in (18, 19, 20, 21)] == [0, 0, 1, 2]
    assert s[D(21)].stable_control is False


# ---------------------------------------------------------------- days without data

_channels = st.sampled_from(["quarantine_site", "community_screening", "unknown"])
_facts = st.builds(
    case,
    reported_on=st.integers(0, 60).map(lambda n: D(1) + timedelta(days=n)),
    found_via=_channels,
    reported_classification=st.sampled_from(["asymptomatic", "confirmed"]),
)


@given(
    cases=st.lists(_facts, max_size=25),
    start=st.integers(-5, 70),
    length=st.integers(0, 40),
    population=st.sampled_from([None, 0, 500, 5_000_000]),
)
def test_quiet_days_stepped_over_give_the_figures_of_stepping_day_by_day(
    cases: list[CaseFacts], start: int, length: int, population: int | None
) -> None:
    # Days present with no metrics are stepped one by one: the reference for the runs of
    # quiet days the series steps over at once.
    sparse = by_day(cases)
    first_day = D(1) + timedelta(days=start)
    last_day = first_day + timedelta(days=length)
    begin = min([first_day, *sparse])
    dense = {begin + timedelta(days=i): {} for i in range((last_day - begin).days + 1)}
    dense.update(sparse)
    kw = {"start": first_day, "end": last_day, "policy": P9, "population": population}
    assert day_series(sparse, **kw) == day_series(dense, **kw)  # type: ignore[arg-type]


def test_a_day_far_in_the_future_is_one_step_over_the_quiet_days() -> None:
    far = date(9999, 12, 31)
    [figures] = day_series(by_day(many(3)), start=far, end=far, policy=P9)
    assert figures.total_asymptomatic == 3
    assert figures.zero_streak == (far - D(20)).days + 1
