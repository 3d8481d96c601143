"""The tracing rules, per edition, without a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from fangkong.policy import load_policy
from fangkong.tracing import rules
from fangkong.tracing.rules import Degree, Exposure, Membership

from .helpers import local

D = date(2022, 3, 10)
T0 = local(D, 10)


def window(edition: str, **kw: date | None) -> rules.Window:
    facts: dict[str, date | None] = {"onset_on": None, "sampled_on": None, "reported_on": D}
    facts.update(kw)
    return rules.lookback_window(policy=load_policy(edition), **facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("edition", "days"), [("national-8", 2), ("zibo-2022-03", 2), ("national-9", 4)]
)
def test_window_per_edition_from_onset(edition: str, days: int) -> None:
    w = window(edition, onset_on=D - timedelta(days=1))
    assert w.anchor == "onset"
    assert w.start == local(D - timedelta(days=1 + days), 0)  # 0时 local
    assert w.start.tzinfo is not None
    assert w.end == local(D + timedelta(days=1), 0)  # end of the report day (isolation)


def test_window_anchor_sampling_then_report() -> None:
    sampled = window("national-9", sampled_on=D - timedelta(days=2))
    assert (sampled.anchor, sampled.start) == ("sampling", local(D - timedelta(days=6), 0))
    report = window("national-9")
    assert (report.anchor, report.start) == ("report", local(D - timedelta(days=4), 0))
    onset_first = window("national-9", onset_on=D, sampled_on=D - timedelta(days=3))
    assert onset_first.anchor == "onset"


def test_window_until_a_known_isolation() -> None:
    isolated = local(D, 9, 30)
    w = rules.lookback_window(
        onset_on=None,
        sampled_on=None,
        reported_on=D,
        policy=load_policy("national-9"),
        isolated_at=isolated,
    )
    assert w.end == isolated


def test_window_days_include_the_day_before() -> None:
    w = window("national-8", onset_on=D - timedelta(days=1))
    # from 2 days before onset (3/7) until the end of 3/10, and 3/6 for visits under way
    assert w.days() == [date(2022, 3, d) for d in range(6, 11)]


def test_overlap_boundaries() -> None:
    a_end = T0 + timedelta(hours=1)
    assert rules.overlap(T0, a_end, a_end, a_end + timedelta(hours=1)) is None  # touching
    assert rules.overlap_minutes(T0, a_end, a_end, a_end + timedelta(hours=1)) == 0
    assert rules.overlap_minutes(T0, a_end, T0 + timedelta(minutes=45), a_end) == 15
    assert rules.overlap(T0, a_end, T0 - timedelta(hours=1), T0 + timedelta(minutes=5)) == (
        T0,
        T0 + timedelta(minutes=5),
    )


def exposure(person: str, minutes: float, venue: str = "V1") -> Exposure:
    return Exposure(person, venue, T0, T0 + timedelta(minutes=minutes))


def direct(
    edition: str, exposures: list[Exposure], members: Sequence[Membership] = ()
) -> dict[str, rules.Finding]:
    return rules.direct_contacts(
        case_person="C",
        exposures=exposures,
        members=members,
        categories={"V1": "supermarket", "P1": "park"},
        policy=load_policy(edition),
    )


def test_fifteen_minutes_is_close_below_is_general() -> None:
    found = direct("national-9", [exposure("A", 15), exposure("B", 14 + 59 / 60)])
    assert found["A"].degree is Degree.close
    assert found["A"].rule == "national-9:tracing.min_overlap_minutes"
    assert found["B"].degree is Degree.general
    assert found["B"].rule == "national-9:tracing.identify_general"
    reason = found["A"].reasons[0]
    assert (reason.kind, reason.venue_code, reason.minutes) == ("venue", "V1", 15)
    assert (reason.overlap_start, reason.overlap_end) == (T0, T0 + timedelta(minutes=15))


def test_excluded_category_and_own_person() -> None:
    found = direct("national-9", [exposure("A", 60, venue="P1"), exposure("C", 60)])
    assert found == {}


def test_unknown_venue_counts() -> None:
    assert direct("national-9", [exposure("A", 30, venue="X9")])["A"].degree is Degree.close


def test_household_and_unit_are_close_and_reasons_kept() -> None:
    members = [
        Membership("H", "household", household_no="HH1"),
        Membership("W", "workplace_unit", workplace_no="W1", workplace_unit="车间"),
        Membership("C", "household", household_no="HH1"),  # never their own contact
    ]
    found = direct("national-8", [exposure("H", 5), exposure("H", 20, venue="X2")], members)
    assert set(found) == {"H", "W"}
    h = found["H"]
    assert h.degree is Degree.close
    assert h.rule == "national-8:tracing.household_is_close"
    assert [r.kind for r in h.reasons] == ["household", "venue", "venue"]
    assert found["W"].reasons[0].workplace_unit == "车间"
    assert found["W"].rule == "national-8:tracing.workplace_unit_is_close"


def test_general_upgraded_by_a_longer_stay() -> None:
    found = direct("national-9", [exposure("A", 5), exposure("A", 40, venue="X2")])
    assert found["A"].degree is Degree.close
    assert len(found["A"].reasons) == 2


def secondary(edition: str) -> dict[str, rules.Finding]:
    found = direct("national-9", [exposure("A", 30), exposure("G", 3)])
    members_of = {
        "A": [
            Membership("S", "household", household_no="HH2"),
            Membership("G", "workplace_unit", workplace_no="W2", workplace_unit="办公室"),
            Membership("C", "household", household_no="HH2"),
        ]
    }
    return rules.with_secondary(
        found, case_person="C", members_of=members_of, policy=load_policy(edition)
    )


def test_secondary_contacts_under_the_9th_edition() -> None:
    found = secondary("national-9")
    assert found["S"].degree is Degree.secondary
    assert found["S"].reasons[0].via == "A"
    assert found["S"].rule == "national-9:tracing.identify_secondary"
    assert found["G"].degree is Degree.secondary  # general upgraded
    assert "C" not in found
    assert found["A"].degree is Degree.close


def test_no_secondary_under_the_20_measures() -> None:
    found = secondary("measures-20")
    assert "S" not in found
    assert found["G"].degree is Degree.general


def test_secondary_does_not_downgrade_a_close_contact() -> None:
    found = direct("national-9", [exposure("A", 30), exposure("B", 30)])
    members_of = {"A": [Membership("B", "household", household_no="HH3")]}
    rules.with_secondary(
        found, case_person="C", members_of=members_of, policy=load_policy("national-9")
    )
    assert found["B"].degree is Degree.close
    assert [r.kind for r in found["B"].reasons] == ["venue", "secondary"]


def test_reason_round_trip() -> None:
    r = rules.Reason(
        kind="venue",
        rule="x:y",
        venue_code="V",
        overlap_start=datetime(2022, 3, 1, tzinfo=UTC),
        overlap_end=datetime(2022, 3, 1, 1, tzinfo=UTC),
        minutes=60,
    )
    assert rules.Reason.from_dict(r.as_dict()) == r
