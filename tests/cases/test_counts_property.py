"""The incremental ``daily_count`` table always equals a full recount of the cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service, stats
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate, CaseUpdate
from fangkong.cases.vocab import Classification, FoundVia, Origin
from fangkong.errors import FangkongError

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)
CITY = bind("city", "3703")  # the whole city: these tests are about the registry
FIRST = date(2022, 3, 4)
# (district, street): plain districts, streets of function zones, another city
PLACES: list[tuple[str, str | None]] = [
    ("周村区", None),
    ("周村区", "丝绸路街道"),
    ("周村区", "萌水镇"),  # 文昌湖区
    ("张店区", "四宝山街道"),  # 高新区
    ("张店区", "傅家镇"),  # 淄博经开区
    ("桓台县", None),
    ("370302", None),
    ("兰山区", None),
]

days = st.integers(0, 19).map(lambda n: FIRST + timedelta(days=n))
maybe_days = st.none() | days
channels = st.none() | st.sampled_from(list(FoundVia))
places = st.sampled_from(PLACES)


@st.composite
def create_op(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    classification = draw(st.sampled_from(list(Classification)))
    reported = draw(days)
    converted = None
    if classification == Classification.asymptomatic and draw(st.booleans()):
        converted = reported + timedelta(days=draw(st.integers(0, 5)))
    discharged = None
    if draw(st.booleans()):
        discharged = reported + timedelta(days=draw(st.integers(0, 10)))
    district, street = draw(places)
    return "create", {
        "classification": classification,
        "reported_on": reported,
        "converted_on": converted,
        "discharged_on": discharged,
        "origin": draw(st.sampled_from(list(Origin))),
        "found_via": draw(channels),
        "district": district,
        "street": street,
        "sampled_on": reported - timedelta(days=draw(st.integers(0, 2))),
    }


@st.composite
def update_op(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    # Any combination, also contradictory ones that the service must refuse cleanly.
    fields = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "classification": st.sampled_from(list(Classification)),
                "origin": st.sampled_from(list(Origin)),
                "found_via": channels,
                "reported_on": days,
                "converted_on": maybe_days,
                "discharged_on": maybe_days,
                "sampled_on": maybe_days,
                "notes": st.sampled_from(["", "复核", None]),
            },
        )
    )
    if draw(st.booleans()):
        district, street = draw(places)
        fields["district"] = district
        if street is not None or draw(st.booleans()):
            fields["street"] = street
    return "update", {"target": draw(st.integers(0, 100)), "fields": fields}


def event_op(kind: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.builds(
        lambda target, on: (kind, {"target": target, "on": on}), st.integers(0, 100), days
    )


operations = st.lists(
    st.one_of(create_op(), update_op(), event_op("convert"), event_op("discharge")),
    min_size=1,
    max_size=15,
)


def recount_of(session: Session) -> dict[stats.Cell, int]:
    cases = session.scalars(select(Case))
    return {
        cell: n for cell, n in stats.recount(service.counted_facts(c) for c in cases).items() if n
    }


def run(session: Session, ops: list[tuple[str, dict[str, Any]]]) -> None:
    numbers: list[str] = []
    for kind, args in ops:
        try:
            if kind == "create":
                case_no = f"P-{len(numbers):03d}"
                service.create_case(
                    session, data=CaseCreate(case_no=case_no, **args), now=NOW, scope=CITY
                )
                numbers.append(case_no)
                continue
            if not numbers:
                continue
            target = numbers[args["target"] % len(numbers)]
            if kind == "update":
                data = CaseUpdate(**args["fields"])
                service.update_case(session, case_no=target, data=data, now=NOW, scope=CITY)
            elif kind == "convert":
                service.convert_case(session, case_no=target, on=args["on"], now=NOW, scope=CITY)
            else:
                service.discharge_case(session, case_no=target, on=args["on"], now=NOW, scope=CITY)
        except FangkongError:
            pass  # refused: the store must still be consistent
        session.flush()
        assert service.counts_table(session) == recount_of(session), (kind, args)
    for case in session.scalars(select(Case)):
        expected = "confirmed" if case.converted_on else case.reported_classification
        assert case.classification == expected
        assert case.city_code == case.district_code[:4]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_incremental_counts_equal_a_recount(
    session: Session, ops: list[tuple[str, dict[str, Any]]]
) -> None:
    # The service never commits: rolling back after each example empties the store again.
    try:
        run(session, ops)
        before = service.counts_table(session)
        service.rebuild_counts(session)
        assert service.counts_table(session) == before
    finally:
        session.rollback()


def test_refused_edit_leaves_case_and_counts_as_they_were(session: Session) -> None:
    service.create_case(
        session,
        data=CaseCreate(
            case_no="R-1",
            classification=Classification.asymptomatic,
            reported_on=date(2022, 3, 20),
            district="周村区",
        ),
        now=NOW,
        scope=CITY,
    )
    before = service.counts_table(session)
    with pytest.raises(FangkongError):
        # new report day is valid alone, the unknown district is not
        service.update_case(
            session,
            case_no="R-1",
            data=CaseUpdate(reported_on=date(2022, 3, 21), district="火星区"),
            now=NOW,
            scope=CITY,
        )
    with pytest.raises(FangkongError):
        service.update_case(
            session,
            case_no="R-1",
            data=CaseUpdate(reported_on=date(2022, 3, 25), converted_on=date(2022, 3, 22)),
            now=NOW,
            scope=CITY,
        )
    session.flush()
    case = service.get_case(session, case_no="R-1", scope=CITY)
    assert case.reported_on == date(2022, 3, 20)
    assert case.converted_on is None
    assert case.classification == "asymptomatic"
    assert service.counts_table(session) == before == recount_of(session)


def test_removing_the_report_day_is_refused(session: Session) -> None:
    service.create_case(
        session,
        data=CaseCreate(
            case_no="R-2",
            classification=Classification.confirmed,
            reported_on=date(2022, 3, 20),
            district="周村区",
        ),
        now=NOW,
        scope=CITY,
    )
    with pytest.raises(FangkongError) as err:
        service.update_case(
            session, case_no="R-2", data=CaseUpdate(reported_on=None), now=NOW, scope=CITY
        )
    assert err.value.details["field"] == "reported_on"
    session.flush()
    assert service.get_case(session, case_no="R-2", scope=CITY).reported_on == date(2022, 3, 20)


def test_giving_the_same_district_again_keeps_the_street(session: Session) -> None:
    service.create_case(
        session,
        data=CaseCreate(
            case_no="R-3",
            classification=Classification.confirmed,
            reported_on=date(2022, 3, 20),
            district="周村区",
            street="萌水镇",
        ),
        now=NOW,
        scope=CITY,
    )
    case = service.update_case(
        session, case_no="R-3", data=CaseUpdate(district="370306"), now=NOW, scope=CITY
    )
    assert (case.street_code, case.unit_code) == ("370306103", "3703-wch")
    case = service.update_case(
        session, case_no="R-3", data=CaseUpdate(district="桓台县"), now=NOW, scope=CITY
    )
    assert (case.street_code, case.unit_code) == (None, "370321")
    assert service.counts_table(session) == recount_of(session)
