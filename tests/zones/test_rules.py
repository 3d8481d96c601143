"""The pure rules of zones: proposals per edition, the lifting countdown at the day
boundaries, and two properties — lifting never happens while a condition is unmet, and a
new positive always restarts the count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.policy import load_policy
from fangkong.zones.index import ZoneEntry, ZoneIndex, ZoneStatus
from fangkong.zones.rules import (
    CaseAt,
    Drawn,
    Place,
    RoundFact,
    ZoneFacts,
    ZoneMoveRefused,
    check_move,
    evaluate,
    propose,
)

N8 = load_policy("national-8")
N9 = load_policy("national-9")
M20 = load_policy("measures-20")
ZIBO = load_policy("zibo-2022-03")
D0 = date(2022, 3, 10)


def case(no: str = "C1", **kw: object) -> CaseAt:
    values: dict[str, object] = {
        "case_no": no,
        "city_code": "3703",
        "district_code": "370306",
        "street_code": "370306001",
        "community_id": 7,
        "compound_id": 70,
        "building_id": 700,
    }
    values.update(kw)
    return CaseAt(**values)  # type: ignore[arg-type]


def kinds(proposals: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return [(p.level, p.place.kind, p.place.ref) for p in proposals]


# ---------------------------------------------------------------- proposals


def test_2021_rules_seal_the_compound_control_the_community_and_guard_the_district() -> None:
    venue = Place("venue", "V9", "370306", "370306001")
    got = propose([case(contact_places=(venue,))], [], ZIBO.zones, ZIBO.edition)
    assert kinds(got) == [
        ("sealed", "compound", "70"),
        ("controlled", "community", "7"),
        ("controlled", "venue", "V9"),
        ("precaution", "district", "370306"),
    ]
    assert got[0].rule == "zibo-2022-03:zones.seal_unit"
    assert got[0].case_nos == ["C1"]


def test_ninth_edition_uses_high_medium_low() -> None:
    got = propose([case()], [], N9.zones, N9.edition)
    assert [p.level for p in got] == ["high", "medium", "low"]


def test_twenty_measures_draws_the_building_high_and_nothing_in_between() -> None:
    venue = Place("venue", "V9", "370306")
    got = propose([case(contact_places=(venue,))], [], M20.zones, M20.edition)
    assert kinds(got) == [("high", "building", "700"), ("low", "district", "370306")]


def test_without_a_building_the_compound_is_drawn_under_twenty_measures() -> None:
    got = propose([case(building_id=None)], [], M20.zones, M20.edition)
    assert kinds(got)[0] == ("high", "compound", "70")


def test_places_already_drawn_are_not_proposed_again_and_cases_share_a_proposal() -> None:
    drawn = [Drawn("Z1", "precaution", Place("district", "370306", "370306"))]
    got = propose([case("C1"), case("C2")], drawn, ZIBO.zones, ZIBO.edition)
    assert kinds(got) == [("sealed", "compound", "70"), ("controlled", "community", "7")]
    assert got[0].case_nos == ["C1", "C2"]


def test_a_positive_inside_a_controlled_zone_proposes_an_upgrade() -> None:
    inside = case(zone=("Z5", "controlled", None))
    drawn = [Drawn("Z5", "controlled", Place("community", "7", "370306"))]
    got = propose([inside], drawn, ZIBO.zones, ZIBO.edition)
    assert got[0].level == "sealed"
    assert got[0].upgrade_of == "Z5"
    assert ("controlled", "community", "7") not in kinds(got)


def test_a_positive_inside_a_sealed_compound_proposes_nothing_new_there() -> None:
    drawn = [Drawn("Z1", "sealed", Place("compound", "70", "370306"))]
    got = propose([case()], drawn, ZIBO.zones, ZIBO.edition)
    assert ("sealed", "compound", "70") not in kinds(got)


# ---------------------------------------------------------------- lifting at the boundaries


def facts(**kw: object) -> ZoneFacts:
    values: dict[str, object] = {"level": "sealed", "level_since": D0}
    values.update(kw)
    return ZoneFacts(**values)  # type: ignore[arg-type]


def test_2021_sealed_zone_lifts_on_day_14_with_a_round_in_the_last_two_days() -> None:
    f = facts(rounds=(RoundFact(D0 + timedelta(days=13), True),))
    assert not evaluate(f, D0 + timedelta(days=13), ZIBO.zones, ZIBO.edition).allowed
    v = evaluate(f, D0 + timedelta(days=14), ZIBO.zones, ZIBO.edition)
    assert v.allowed
    assert v.then is None
    assert v.days_left == 0
    early = facts(rounds=(RoundFact(D0 + timedelta(days=12), True),))
    v = evaluate(early, D0 + timedelta(days=14), ZIBO.zones, ZIBO.edition)
    assert not v.allowed
    assert [c.code for c in v.blocking] == ["screening"]


def test_2021_open_contacts_hold_the_zone() -> None:
    f = facts(rounds=(RoundFact(D0 + timedelta(days=14), True),), contacts_open=2)
    v = evaluate(f, D0 + timedelta(days=14), ZIBO.zones, ZIBO.edition)
    assert not v.allowed
    assert v.blocking[0].code == "contacts_released"
    assert "2名" in v.blocking[0].detail


def test_ninth_edition_high_goes_to_medium_on_day_7_then_low_three_days_later() -> None:
    f = ZoneFacts("high", D0, rounds=(RoundFact(D0 + timedelta(days=7), True),))
    assert not evaluate(f, D0 + timedelta(days=6), N9.zones, N9.edition).allowed
    v = evaluate(f, D0 + timedelta(days=7), N9.zones, N9.edition)
    assert v.allowed
    assert v.then == "medium"
    down = ZoneFacts("medium", D0 + timedelta(days=7), downgraded=True)
    assert not evaluate(down, D0 + timedelta(days=9), N9.zones, N9.edition).allowed
    v = evaluate(down, D0 + timedelta(days=10), N9.zones, N9.edition)
    assert v.allowed
    assert v.then is None
    drawn_medium = ZoneFacts("medium", D0, rounds=(RoundFact(D0 + timedelta(days=7), True),))
    assert not evaluate(drawn_medium, D0 + timedelta(days=6), N9.zones, N9.edition).allowed
    assert evaluate(drawn_medium, D0 + timedelta(days=7), N9.zones, N9.edition).allowed


def test_twenty_measures_high_lifts_after_five_days() -> None:
    f = ZoneFacts("high", D0, rounds=(RoundFact(D0 + timedelta(days=5), True),))
    assert not evaluate(f, D0 + timedelta(days=4), M20.zones, M20.edition).allowed
    assert evaluate(f, D0 + timedelta(days=5), M20.zones, M20.edition).allowed


def test_precaution_lifts_when_its_county_is_clear() -> None:
    held = evaluate(facts(level="precaution", county_in_force=1), D0, ZIBO.zones, ZIBO.edition)
    assert not held.allowed
    assert held.blocking[0].code == "county_clear"
    assert evaluate(facts(level="precaution"), D0, ZIBO.zones, ZIBO.edition).allowed


def test_a_positive_round_does_not_count() -> None:
    f = facts(rounds=(RoundFact(D0 + timedelta(days=14), False),))
    assert not evaluate(f, D0 + timedelta(days=14), ZIBO.zones, ZIBO.edition).allowed


def test_status_moves() -> None:
    check_move("proposed", "in_force")
    with pytest.raises(ZoneMoveRefused):
        check_move("lifted", "in_force")
    with pytest.raises(ZoneMoveRefused):
        check_move("rejected", "in_force")


# ---------------------------------------------------------------- properties

EDITIONS = st.sampled_from([N8, N9, M20, ZIBO])
days = st.integers(min_value=0, max_value=30)


@st.composite
def zone_facts(draw: st.DrawFn) -> tuple[object, ZoneFacts, date]:
    policy = draw(EDITIONS)
    level = draw(st.sampled_from(policy.zones.levels))
    since = D0 + timedelta(days=draw(st.integers(0, 5)))
    last = draw(st.none() | days.map(lambda d: D0 + timedelta(days=d)))
    rounds = draw(
        st.lists(
            st.tuples(days, st.booleans()).map(
                lambda t: RoundFact(D0 + timedelta(days=t[0]), t[1])
            ),
            max_size=5,
        )
    )
    f = ZoneFacts(
        level,
        since,
        downgraded=draw(st.booleans()),
        last_positive=last,
        rounds=tuple(rounds),
        contacts_open=draw(st.integers(0, 2)),
        county_in_force=draw(st.integers(0, 2)),
    )
    return policy, f, D0 + timedelta(days=draw(st.integers(0, 40)))


@given(zone_facts())
def test_lifting_never_happens_while_a_condition_is_unmet(case_: tuple) -> None:  # type: ignore[type-arg]
    policy, f, day = case_
    v = evaluate(f, day, policy.zones, policy.edition)  # type: ignore[attr-defined]
    assert v.allowed == all(c.met for c in v.conditions)
    if v.allowed and f.level != policy.zones.county:  # type: ignore[attr-defined]
        start = max(f.level_since, f.last_positive or f.level_since)
        assert (day - start).days >= 1
        assert f.last_positive is None or f.last_positive < day


@given(zone_facts(), st.integers(0, 40))
def test_a_new_positive_restarts_the_count(case_: tuple, offset: int) -> None:  # type: ignore[type-arg]
    policy, f, day = case_
    if f.level == policy.zones.county:  # type: ignore[attr-defined]
        return
    positive = day - timedelta(days=offset % 3)
    if positive < f.level_since:
        return
    again = ZoneFacts(
        f.level,
        f.level_since,
        downgraded=f.downgraded,
        last_positive=positive,
        rounds=f.rounds,
        contacts_open=f.contacts_open,
        county_in_force=f.county_in_force,
    )
    v = evaluate(again, day, policy.zones, policy.edition)  # type: ignore[attr-defined]
    lift = policy.zones.lifting[f.level]  # type: ignore[attr-defined]
    need = (
        lift.after_downgrade_days if f.downgraded and lift.after_downgrade_days else lift.quiet_days
    )
    assert v.start == positive
    assert v.days_left == max(0, need - (day - positive).days)
    assert v.due == positive + timedelta(days=need)
    if (day - positive).days < need:
        assert not v.allowed


# ---------------------------------------------------------------- the index


def test_index_takes_the_severest_zone_of_an_address() -> None:
    sealed = ZoneStatus("sealed", "Z2", D0, "r")
    controlled = ZoneStatus("controlled", "Z1", D0, "r")
    index = ZoneIndex(
        [
            ZoneEntry(controlled, (("community", "7"),)),
            ZoneEntry(sealed, (("compound", "70"),)),
            ZoneEntry(ZoneStatus("precaution", "Z0", D0, "r"), (("district", "370306"),)),
        ]
    )
    assert index.of_address(district_code="370306", community_id=7, compound_id=70) == sealed
    assert index.of_address(district_code="370306", community_id=7, compound_id=71) == controlled
    assert index.of_address(district_code="370302") is None
    rows = [(1, "370306", None, 7, 70, None), (2, "370302", None, None, None, None)]
    assert index.of_addresses(rows) == {1: sealed}
