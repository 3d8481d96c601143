"""Quarantine schedules per edition (RULES §3), without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.errors import InvalidInput
from fangkong.monitoring.rules import SYMPTOMS
from fangkong.policy import available_editions, load_policy, loader
from fangkong.policy.model import QuarantinePolicy, Stage
from fangkong.quarantine import schedule as sched
from fangkong.quarantine.schedule import PersonKind, Schedule, StagePlan

EDITIONS = ["measures-20", "national-8", "national-9", "zibo-2022-03"]


def d(month: int, day: int, year: int = 2022) -> date:
    return date(year, month, day)


def plan(kind: str, start: date, edition: str) -> Schedule:
    result = sched.schedule(kind, start, load_policy(edition))
    assert result is not None
    return result


def shape(s: Schedule) -> list[tuple[str, date, date, tuple[date, ...]]]:
    return [(p.kind, p.first_day, p.last_day, p.test_dates) for p in s.stages]


def test_every_edition_loads_with_a_quarantine_section() -> None:
    assert available_editions() == EDITIONS
    for name in EDITIONS:
        q = load_policy(name).quarantine
        assert q.close, name
        assert q.discharged[0].kind == "rehabilitation"
        assert q.fever_celsius == 37.3
        assert set(q.symptoms) == set(SYMPTOMS)
        assert set(q.report_windows) == {"morning", "evening"}


def test_national_9_close_contact_from_20_march() -> None:
    s = plan("close", d(3, 20), "national-9")
    assert shape(s) == [
        ("centralized", d(3, 20), d(3, 26), (d(3, 20), d(3, 21), d(3, 22), d(3, 24), d(3, 26))),
        ("home_monitoring", d(3, 27), d(3, 29), (d(3, 29),)),
    ]
    assert (s.end, s.hand_over, s.total_days) == (d(3, 29), d(3, 27), 10)
    assert s.rule == "national-9:quarantine.close"
    assert s.person_kind is PersonKind.close
    assert not any(p.release_two_labs for p in s.stages)


def test_national_8_close_contact_14_plus_7_with_two_labs_at_release() -> None:
    s = plan("close", d(3, 1), "national-8")
    central, home = s.stages
    assert (central.kind, central.first_day, central.last_day) == ("centralized", d(3, 1), d(3, 14))
    assert central.test_dates == (d(3, 1), d(3, 4), d(3, 7), d(3, 14))
    assert central.release_two_labs
    assert (home.kind, home.first_day, home.last_day) == ("home_monitoring", d(3, 15), d(3, 21))
    assert home.test_dates == (d(3, 16), d(3, 21))
    assert (s.end, s.hand_over) == (d(3, 21), d(3, 15))
    (release,) = sched.tests_due(s, d(3, 14))
    assert (release.two_labs, release.number, release.stage) == (True, 4, central)
    (first,) = sched.tests_due(s, d(3, 1))
    assert (first.two_labs, first.number) == (False, 1)
    assert sched.tests_due(s, d(3, 15)) == ()
    (home_test,) = sched.tests_due(s, d(3, 21))
    assert not home_test.two_labs  # two labs only at the release from centralized quarantine


def test_measures_20_close_contact_5_plus_3_home_isolation() -> None:
    s = plan("close", d(11, 12), "measures-20")
    assert shape(s) == [
        ("centralized", d(11, 12), d(11, 16), (d(11, 12), d(11, 13), d(11, 14), d(11, 16))),
        ("home_isolation", d(11, 17), d(11, 19), (d(11, 17), d(11, 19))),
    ]
    assert (s.hand_over, s.rule) == (d(11, 17), "measures-20:quarantine.close")


def test_measures_20_does_not_identify_secondary_contacts() -> None:
    policy = load_policy("measures-20")
    assert sched.schedule("secondary", d(11, 12), policy) is None
    assert sched.schedule(PersonKind.medium_risk, d(11, 12), policy) is None
    high = plan("high_risk", d(11, 12), "measures-20")
    assert [(p.kind, p.days) for p in high.stages] == [("home_isolation", 7)]
    assert high.test_dates == (d(11, 12), d(11, 14), d(11, 16), d(11, 18))
    assert high.hand_over is None  # never centralized


def test_zibo_close_and_secondary_go_home_for_7_days_of_monitoring() -> None:
    close = plan("close", d(3, 10), "zibo-2022-03")
    assert [(p.kind, p.days) for p in close.stages] == [
        ("centralized", 14),
        ("home_monitoring", 7),
    ]
    assert close.rule == "zibo-2022-03:quarantine.close"
    secondary = plan("secondary", d(3, 10), "zibo-2022-03")
    assert shape(secondary) == [
        # RULES §3 names no test days for secondary contacts before the 9th edition
        ("centralized", d(3, 10), d(3, 16), ()),
        ("home_monitoring", d(3, 17), d(3, 23), ()),
    ]
    assert secondary.hand_over == d(3, 17)
    # the national 8th edition stops at centralized quarantine
    national = plan("secondary", d(3, 10), "national-8")
    assert [(p.kind, p.days) for p in national.stages] == [("centralized", 7)]
    assert (national.end, national.hand_over) == (d(3, 16), None)


def test_national_9_secondary_and_risk_zone_arrivals() -> None:
    secondary = plan("secondary", d(7, 1), "national-9")
    assert shape(secondary) == [("home_isolation", d(7, 1), d(7, 7), (d(7, 1), d(7, 4), d(7, 7)))]
    high = plan("high_risk", d(7, 1), "national-9")
    assert [(p.kind, p.days) for p in high.stages] == [("centralized", 7)]
    medium = plan("medium_risk", d(7, 1), "national-9")
    assert medium.test_dates == (d(7, 1), d(7, 4), d(7, 7))
    low = plan("low_risk", d(7, 1), "national-9")
    (window,) = low.stages
    assert (window.kind, window.first_day, window.last_day) == ("tests_only", d(7, 1), d(7, 3))
    assert window.test_dates == (d(7, 1), d(7, 3))
    assert window.test_gap_hours == 24
    sampled = datetime(2022, 7, 1, 2, tzinfo=UTC)
    assert sched.next_test_not_before(window, sampled) == sampled + timedelta(hours=24)
    assert sched.next_test_not_before(high.stages[0], sampled) is None
    assert sched.schedule("low_risk", d(7, 1), load_policy("national-8")) is None


@pytest.mark.parametrize("edition", EDITIONS)
def test_discharged_cases_do_7_days_of_rehabilitation(edition: str) -> None:
    s = plan("discharged", d(3, 22), edition)
    assert shape(s) == [("rehabilitation", d(3, 22), d(3, 28), ())]
    assert s.stages[0].label == "康复医学观察"
    assert s.rule == f"{edition}:quarantine.discharged"


def test_month_and_year_boundaries() -> None:
    s = plan("close", d(12, 28), "national-9")
    central, home = s.stages
    assert (central.first_day, central.last_day) == (d(12, 28), d(1, 3, 2023))
    assert central.test_dates == (d(12, 28), d(12, 29), d(12, 30), d(1, 1, 2023), d(1, 3, 2023))
    assert (home.first_day, home.last_day, home.test_dates) == (
        d(1, 4, 2023),
        d(1, 6, 2023),
        (d(1, 6, 2023),),
    )
    feb = plan("close", d(2, 25, 2024), "measures-20")  # a leap year
    assert [(p.first_day, p.last_day) for p in feb.stages] == [
        (d(2, 25, 2024), d(2, 29, 2024)),
        (d(3, 1, 2024), d(3, 3, 2024)),
    ]


def test_stage_on_and_tests_due_outside_the_schedule() -> None:
    s = plan("close", d(3, 20), "national-9")
    assert s.stage_on(d(3, 19)) is None
    assert s.stage_on(d(3, 30)) is None
    assert s.stage_on(d(3, 26)) == s.stages[0]
    assert s.stage_on(d(3, 27)) == s.stages[1]
    assert sched.tests_due(s, d(3, 23)) == ()
    assert sched.tests_due(s, d(3, 30)) == ()


def test_unknown_kind_is_a_clear_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown kind of person 'fever_celsius'"):
        sched.schedule("fever_celsius", d(3, 1), load_policy("national-9"))


@settings(max_examples=80, deadline=None)
@given(
    edition=st.sampled_from(EDITIONS),
    kind=st.sampled_from(list(PersonKind)),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
)
def test_stages_are_contiguous_and_tests_lie_inside(
    edition: str, kind: PersonKind, start: date
) -> None:
    policy = load_policy(edition)
    s = sched.schedule(kind, start, policy)
    stages = policy.quarantine.stages(kind)
    if s is None:
        assert stages == ()
        return
    assert s.stages[0].first_day == start
    for before, after in pairwise(s.stages):
        assert after.first_day == before.last_day + timedelta(days=1)
    for p in s.stages:
        assert all(p.contains(day) for day in p.test_dates)
        assert list(p.test_dates) == sorted(set(p.test_dates))
        for day in p.test_dates:
            assert p in [due.stage for due in sched.tests_due(s, day)]
    total = sum(stage.days for stage in stages)
    assert s.end == start + timedelta(days=total - 1)
    assert s.total_days == total


def test_stage_rules_are_checked_when_an_edition_loads() -> None:
    with pytest.raises(ValueError, match=r"within 1\.\.7"):
        Stage(kind="centralized", days=7, test_days=(0, 7))
    with pytest.raises(ValueError, match="increasing"):
        Stage(kind="centralized", days=7, test_days=(4, 1))
    with pytest.raises(ValueError, match="last day"):
        Stage(kind="centralized", days=14, test_days=(1, 7), release_two_labs=True)
    with pytest.raises(ValueError, match="2 days apart"):
        Stage(kind="tests_only", days=3, test_days=(1, 2), test_gap_hours=24)
    with pytest.raises(ValueError, match="kind"):
        Stage(kind="hotel", days=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown kind of person"):
        QuarantinePolicy().stages("report_windows")
    assert QuarantinePolicy().close == ()  # no edition, no schedule


def test_an_overlay_replaces_a_kinds_stages_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "EDITIONS", tmp_path)
    loader.load_policy.cache_clear()
    try:
        (tmp_path / "base.toml").write_text(
            'title = "B"\npublished = "2022"\n[quarantine]\nfever_celsius = 37.5\n'
            '[[quarantine.close]]\nkind = "centralized"\ndays = 7\n'
            '[[quarantine.close]]\nkind = "home_monitoring"\ndays = 3\n',
            encoding="utf-8",
        )
        (tmp_path / "city.toml").write_text(
            'title = "C"\npublished = "2022"\nbase = "base"\n[quarantine]\nclose = []\n'
            '[quarantine.report_windows]\nmorning = { opens = "07:00", closes = "10:00" }\n',
            encoding="utf-8",
        )
        city = load_policy("city")
        assert sched.schedule("close", d(3, 1), city) is None
        assert city.quarantine.fever_celsius == 37.5
        assert str(city.quarantine.report_windows["morning"].opens) == "07:00:00"
        assert len(load_policy("base").quarantine.close) == 2
    finally:
        loader.load_policy.cache_clear()


def test_stage_plan_label_and_days() -> None:
    p = StagePlan("home_monitoring", d(3, 27), d(3, 29), (d(3, 29),))
    assert (p.days, p.label) == (3, "居家健康监测")
