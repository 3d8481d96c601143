"""Tests during quarantine as rounds of the testing domain: scheduled per edition, a site's
day opened once with only the people due, swabbed and resulted through the testing
service and synced back, overdue the next day, release held with its reasons, a positive
becoming a case exactly once, and who sees which site."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.cases.models import Case
from fangkong.config import get_settings
from fangkong.deps import open_store
from fangkong.errors import InvalidInput, NotFound
from fangkong.flows import rounds
from fangkong.lake.engine import connect
from fangkong.policy import load_policy
from fangkong.quarantine import schedule, site_swabs
from fangkong.quarantine.cli import swabs as swabs_cli
from fangkong.quarantine.models import QuarantineOrder, QuarantineSwab
from fangkong.testing import apply, outcome, results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.testing.models import TestingRound
from tests.quarantine.site_helpers import ZHANGDIAN, order, resident, site

CITY = bind("city", "3703")
ZIBO = load_policy("zibo-2022-03")
NINTH = load_policy("national-9")
DAY1 = date(2022, 3, 20)
CON = connect("duckdb")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` Asia/Shanghai on ``day``, in UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def open_(
    session: Session, lake: Path, code: str, day: date, scope: Jurisdiction = CITY
) -> TestingRound:
    found = site_swabs.site_by_code(session, code, scope=CITY)
    return site_swabs.open_site_round(
        session,
        found,
        day,
        lake=lake,
        policy=ZIBO,
        now=local(day, 7),
        actor="tests",
        scope=scope,
    )


def swab(lake: Path, code: str, day: date, *people: str, size: int = 1) -> None:
    samples.add_samples(
        lake,
        code,
        pa.table(
            {
                "person_id": list(people),
                "tube_barcode": [f"{code}-{p}-{size}" for p in people],
                "tube_size": [size] * len(people),
                "point_code": ["S01"] * len(people),
                "sampled_at": [local(day, 9, i) for i in range(len(people))],
            }
        ),
        allowed_sizes=(1,),
    )


def lab(lake: Path, code: str, day: date, **found: TubeResult) -> None:
    results.import_results(
        lake,
        code,
        [LabResult(f"{code}-{p}-1", r, "淄博市疾控中心", local(day, 15)) for p, r in found.items()],
        source="tests",
    )


def run(session: Session, round_: TestingRound, lake: Path, day: date) -> apply.ApplyReport:
    return rounds.apply_round(
        session, round_, lake=lake, policy=ZIBO, now=local(day, 18), scope=CITY, con=CON
    )


def rows_of(session: Session, o: QuarantineOrder) -> dict[date, QuarantineSwab]:
    rows = session.scalars(select(QuarantineSwab).where(QuarantineSwab.order_id == o.id))
    return {t.due_on: t for t in rows}


# ---------------------------------------------------------------- scheduling


def scheduled(kind: str, policy_name: str) -> list[tuple[date, str, int, bool]]:
    plan = schedule.schedule(kind, DAY1, load_policy(policy_name))
    assert plan is not None
    rows = site_swabs.schedule_swabs(QuarantineOrder(id=1), plan)
    assert {(t.order_id, t.state) for t in rows} <= {(1, "due")}
    return [(t.due_on, t.stage, t.number, t.two_labs) for t in rows]


def test_schedule_swabs_per_edition() -> None:
    d = date
    # 淄博 (8th edition): 14 d centralized d1/4/7/14, the last by two labs; 7 d home d2/7.
    assert scheduled("close", "zibo-2022-03") == [
        (d(2022, 3, 20), "centralized", 1, False),
        (d(2022, 3, 23), "centralized", 2, False),
        (d(2022, 3, 26), "centralized", 3, False),
        (d(2022, 4, 2), "centralized", 4, True),
        (d(2022, 4, 4), "home_monitoring", 1, False),
        (d(2022, 4, 9), "home_monitoring", 2, False),
    ]
    assert scheduled("secondary", "zibo-2022-03") == []  # the seed names no test days
    # 9th edition: 7 d centralized with five tests d1/2/3/5/7; 3 d home, test d3.
    ninth = scheduled("close", "national-9")
    centralized = [row for row in ninth if row[1] == "centralized"]
    assert [(r[0].day, r[2]) for r in centralized] == [(20, 1), (21, 2), (22, 3), (24, 4), (26, 5)]
    assert not any(r[3] for r in ninth)
    assert ninth[-1] == (d(2022, 3, 29), "home_monitoring", 1, False)
    plan = schedule.schedule("close", DAY1, ZIBO)
    assert plan is not None
    with pytest.raises(ValueError, match="flush"):
        site_swabs.schedule_swabs(QuarantineOrder(), plan)


# ---------------------------------------------------------------- a site's day


@pytest.fixture
def town(session: Session) -> dict[str, QuarantineOrder]:
    """S01 (周村区): A and B start on 20 March, C on 21 March, D has been released, E is
    on the way; S02 holds F, also due on 20 March."""
    s01, s02 = site(session, "S01"), site(session, "S02")
    made = {}
    for i, name in enumerate("ABCDEF"):
        person = resident(session, f"P{name}")
        where, start = (s02, DAY1) if name == "F" else (s01, DAY1)
        if name == "C":
            start = DAY1 + timedelta(days=1)
        made[name] = order(session, person, where, start, ZIBO, room=i % 4)
    made["D"].status = "released"
    made["E"].status = "pending_transfer"
    session.flush()
    return made


def test_a_site_round_is_opened_once_with_only_the_people_due(
    session: Session, town: dict[str, QuarantineOrder], tmp_path: Path
) -> None:
    round_ = open_(session, tmp_path, "S01", DAY1)
    assert (round_.code, round_.kind, round_.pool_size, round_.due_count) == (
        "Q-S01-20220320",
        "quarantine",
        1,
        3,  # A, B and E (on the way); not C (starts tomorrow), D (released), F (S02)
    )
    assert round_.site_code == town["A"].site.code
    (area,) = round_.areas
    assert (area.level, area.area_code, area.pool_size) == ("district", "370306", 1)
    assert area.pool_rule == "zibo-2022-03:testing.quarantine_single_tube:1"
    assert session.scalar(select(func.count()).select_from(service.SamplingPoint)) == 0
    due = pq.read_table(service.due_path(tmp_path, round_.code))
    assert sorted(due["person_id"].to_pylist()) == ["PA", "PB", "PE"]
    linked = {
        t.order_id
        for t in session.scalars(
            select(QuarantineSwab).where(QuarantineSwab.round_code == round_.code)
        )
    }
    assert linked == {town[n].id for n in "ABE"}
    again = open_(session, tmp_path, "S01", DAY1)
    assert again.id == round_.id
    assert session.scalar(select(func.count()).select_from(TestingRound)) == 1
    # A quarantine round is opened from its site, never as an area's round.
    spec = service.RoundSpec(
        code="X",
        name="x",
        city_code="3703",
        areas=["周村区"],
        starts_at=local(DAY1, 6),
        kind="quarantine",
    )
    with pytest.raises(InvalidInput, match="from its site"):
        service.create_round(
            session, spec, lake=tmp_path, policy=ZIBO, now=local(DAY1, 6), actor="t", scope=CITY
        )
    # Nobody due: no round.
    with pytest.raises(site_swabs.NothingDue):
        open_(session, tmp_path, "S01", DAY1 + timedelta(days=1, weeks=1))


def test_samples_and_results_come_back_onto_the_tests(
    session: Session, town: dict[str, QuarantineOrder], tmp_path: Path
) -> None:
    round_ = open_(session, tmp_path, "S01", DAY1)
    swab(tmp_path, round_.code, DAY1, "PA", "PB")  # E never arrives to be swabbed
    report = run(session, round_, tmp_path, DAY1)  # sampled, no result yet
    assert report.tests_synced == 2
    assert rows_of(session, town["A"])[DAY1].state == "sampled"
    lab(tmp_path, round_.code, DAY1, PA=TubeResult.NEGATIVE, PB=TubeResult.INVALID)
    report = run(session, round_, tmp_path, DAY1)
    a, b = rows_of(session, town["A"])[DAY1], rows_of(session, town["B"])[DAY1]
    assert (a.state, a.sampled_at, a.resulted_at) == ("negative", local(DAY1, 9), local(DAY1, 15))
    assert b.state == "invalid"
    assert run(session, round_, tmp_path, DAY1).tests_synced == 0  # idempotent

    # The next day: B's unreadable tube is re-swabbed in the day's round with C's first
    # test; E's missed test and B's invalid one are overdue on the day's list.
    day2 = DAY1 + timedelta(days=1)
    s01 = site_swabs.site_by_code(session, "S01", scope=CITY)
    listed = site_swabs.worklist(session, s01, DAY1, scope=CITY, today=day2)
    assert [(t.person_no, t.state, t.overdue) for t in listed] == [
        ("PA", "negative", False),  # room 101
        ("PE", "due", True),  # room 101
        ("PB", "invalid", True),  # room 102
    ]
    assert (listed[0].name, listed[0].room_no) == ("孙*七", "101")
    overdue = site_swabs.overdue_tests(session, CITY, day2)
    assert [(t.site_code, t.person_no) for t in overdue] == [
        ("S01", "PE"),
        ("S01", "PB"),
        ("S02", "PF"),
    ]
    second = open_(session, tmp_path, "S01", day2)
    assert second.due_count == 2  # B's retest and C
    assert b.round_code == second.code
    swab(tmp_path, second.code, day2, "PB", "PC")
    lab(tmp_path, second.code, day2, PB=TubeResult.NEGATIVE, PC=TubeResult.NEGATIVE)
    run(session, second, tmp_path, day2)
    assert (b.state, b.resulted_at) == ("negative", local(day2, 15))
    assert rows_of(session, town["C"])[day2].state == "negative"
    # Re-applying the first day changes nothing on tests that moved to the second.
    run(session, round_, tmp_path, DAY1)
    assert b.state == "negative"
    assert [
        t.person_no for t in site_swabs.overdue_tests(session, CITY, day2 + timedelta(days=1))
    ] == [
        "PE",
        "PF",
    ]


def test_a_settled_test_never_moves_back(
    session: Session, town: dict[str, QuarantineOrder], tmp_path: Path
) -> None:
    round_ = open_(session, tmp_path, "S01", DAY1)
    swab(tmp_path, round_.code, DAY1, "PA")
    lab(tmp_path, round_.code, DAY1, PA=TubeResult.NEGATIVE)
    run(session, round_, tmp_path, DAY1)
    a = rows_of(session, town["A"])[DAY1]
    assert a.state == "negative"
    # A later swab of A in the same round, not yet resulted: A's test stays negative.
    samples.add_samples(
        tmp_path,
        round_.code,
        pa.table(
            {
                "person_id": ["PA"],
                "tube_barcode": ["late"],
                "tube_size": [1],
                "point_code": ["S01"],
                "sampled_at": [local(DAY1, 20)],
            }
        ),
    )
    run(session, round_, tmp_path, DAY1)
    assert (a.state, a.resulted_at) == ("negative", local(DAY1, 15))


# ---------------------------------------------------------------- release


def test_release_is_held_with_its_reasons_until_every_test_is_negative(session: Session) -> None:
    s01 = site(session, "S01")
    o = order(session, resident(session, "PR"), s01, DAY1, NINTH)
    tests = rows_of(session, o)
    last = date(2022, 3, 26)
    early = site_swabs.release_check(session, o, date(2022, 3, 23))
    assert not early.allowed
    assert [b.code for b in early.blockers] == [
        "before_last_day",
        "test_missing",
        "test_missing",
        "test_missing",
    ]
    assert early.last_day == last
    assert early.rule == "national-9:quarantine.close"
    tests[date(2022, 3, 20)].state = "negative"
    tests[date(2022, 3, 21)].state = "positive"
    tests[date(2022, 3, 22)].state = "sampled"
    tests[date(2022, 3, 24)].state = "invalid"
    held = site_swabs.release_check(session, o, last)
    assert [(b.code, b.day) for b in held.blockers] == [
        ("test_positive", date(2022, 3, 21)),
        ("result_pending", date(2022, 3, 22)),
        ("test_invalid", date(2022, 3, 24)),
        ("test_missing", last),
    ]
    assert held.reasons[-1] == "3月26日未采样 (missing test on 2022-03-26)"
    session.delete(tests[date(2022, 3, 26)])
    session.flush()
    assert site_swabs.release_check(session, o, last).blockers[-1].code == "test_not_scheduled"
    for t in rows_of(session, o).values():
        t.state = "negative"
    session.add(
        QuarantineSwab(order_id=o.id, due_on=last, stage="centralized", number=5, state="negative")
    )
    session.flush()
    allowed = site_swabs.release_check(session, o, last)
    assert (allowed.allowed, allowed.reasons) == (True, ())
    assert site_swabs.release_check(session, o, last + timedelta(days=1)).allowed
    # The 8th edition's release test is read by two labs: a negative, flagged for the note.
    zibo = order(session, resident(session, "PZ"), s01, DAY1, ZIBO)
    check = site_swabs.release_check(session, zibo, date(2022, 4, 2))
    assert check.two_labs == (date(2022, 4, 2),)
    # Home isolation has no centralized stage: nothing held here.
    home = order(session, resident(session, "PH"), None, DAY1, NINTH, kind="secondary")
    assert site_swabs.release_check(session, home, date(2022, 3, 26)).allowed


# ---------------------------------------------------------------- a positive


def test_a_positive_single_tube_is_a_case_once_and_converts_the_order(
    session: Session, town: dict[str, QuarantineOrder], tmp_path: Path
) -> None:
    round_ = open_(session, tmp_path, "S01", DAY1)
    swab(tmp_path, round_.code, DAY1, "PA", "PB")
    lab(tmp_path, round_.code, DAY1, PA=TubeResult.POSITIVE, PB=TubeResult.NEGATIVE)
    first = run(session, round_, tmp_path, DAY1)
    (case_no,) = first.cases
    assert first.traced
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    assert case is not None
    assert (case.found_via, case.classification) == ("quarantine_site", "asymptomatic")
    a = town["A"]
    assert (a.status, a.converted_case_id) == ("converted", case.id)
    assert a.transitions[-1].why == f"阳性，转为病例 {case_no}"
    test = rows_of(session, a)[DAY1]
    assert (test.state, test.resulted_at) == ("positive", local(DAY1, 15))
    again = run(session, round_, tmp_path, DAY1)
    assert (again.cases, again.already_cases) == ([], [case_no])
    assert session.scalar(select(func.count()).select_from(Case)) == 1
    # A converted person's later tests leave the site's lists.
    s01 = site_swabs.site_by_code(session, "S01", scope=CITY)
    later = site_swabs.worklist(
        session, s01, date(2022, 3, 23), scope=CITY, today=date(2022, 3, 24)
    )
    assert [t.person_no for t in later] == ["PE", "PB"]
    assert outcome.read_status(tmp_path, round_.code, states=["positive"])[
        "person_id"
    ].to_pylist() == ["PA"]


# ---------------------------------------------------------------- jurisdiction


def test_who_sees_and_opens_which_site(
    session: Session, town: dict[str, QuarantineOrder], tmp_path: Path
) -> None:
    s01 = site_swabs.site_by_code(session, "S01", scope=CITY)
    staff, other = bind("site", "S01"), bind("site", "S02")
    zhangdian, zhoucun = bind("district", "370303"), bind("district", "370306")
    # A zhangdian resident quarantined at the 周村 site.
    order(session, resident(session, "PZ", ZHANGDIAN), s01, DAY1, ZIBO, room=3)
    with pytest.raises(NotFound):
        site_swabs.site_by_code(session, "S01", scope=other)
    assert site_swabs.site_by_code(session, "S01", scope=zhangdian).id == s01.id  # city-wide
    with pytest.raises(NotFound):
        open_(session, tmp_path, "S01", DAY1, scope=other)
    with pytest.raises(OutsideJurisdiction, match="district"):
        open_(session, tmp_path, "S01", DAY1, scope=zhangdian)
    round_ = open_(session, tmp_path, "S01", DAY1, scope=staff)
    assert open_(session, tmp_path, "S01", DAY1, scope=zhoucun).id == round_.id
    # Orders belong to the person's home area; the site's staff see everyone there.
    people = {
        scope.code: [
            t.person_no for t in site_swabs.worklist(session, s01, DAY1, scope=scope, today=DAY1)
        ]
        for scope in (staff, zhangdian, zhoucun)
    }
    assert people == {
        "S01": ["PA", "PE", "PB", "PZ"],
        "370303": ["PZ"],
        "370306": ["PA", "PE", "PB"],
    }
    with pytest.raises(NotFound):
        site_swabs.worklist(session, s01, DAY1, scope=other, today=DAY1)
    day2 = DAY1 + timedelta(days=1)
    assert {t.person_no for t in site_swabs.overdue_tests(session, staff, day2)} == {
        "PA",
        "PB",
        "PE",
        "PZ",
    }
    assert [t.person_no for t in site_swabs.overdue_tests(session, other, day2)] == ["PF"]
    assert [t.person_no for t in site_swabs.overdue_tests(session, zhangdian, day2)] == ["PZ"]
    # The site's staff reach their site's rounds in the testing domain, and no other.
    assert service.get_round(session, code=round_.code, scope=staff).id == round_.id
    assert service.round_for_lab(session, code=round_.code, scope=staff).id == round_.id
    with pytest.raises(NotFound):
        service.get_round(session, code=round_.code, scope=other)
    mass = service.create_round(
        session,
        service.RoundSpec(
            code="ZC-R1",
            name="周村区",
            city_code="3703",
            areas=["周村区"],
            starts_at=local(DAY1, 6),
        ),
        lake=tmp_path,
        policy=ZIBO,
        now=local(DAY1, 6),
        actor="t",
        scope=CITY,
    )
    assert [r.code for r in service.list_rounds(session, scope=staff)] == [round_.code]
    with pytest.raises(NotFound):
        service.round_for_lab(session, code=mass.code, scope=staff)
    assert {r.code for r in service.list_rounds(session, scope=zhoucun)} == {round_.code, mass.code}
    assert service.tube_sizes(round_, ZIBO) == (1,)
    assert service.tube_sizes(mass, ZIBO) == (1, 5, 10, 20)


# ---------------------------------------------------------------- the command line


def test_a_site_day_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-21T20:00+08:00")
    monkeypatch.setenv("FANGKONG_POLICY", "zibo-2022-03")
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_CITY", "FANGKONG_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    store = open_store(get_settings())
    try:
        with store.sessions() as s, s.begin():
            s01 = site(s, "S01")
            for no in ("PA", "PB"):
                order(s, resident(s, no), s01, DAY1, ZIBO)
        runner = CliRunner()
        for _ in range(2):  # idempotent
            opened = runner.invoke(swabs_cli.app, ["open", "--site", "S01", "--date", "2022-03-20"])
            assert opened.exit_code == 0, opened.output
            assert "round Q-S01-20220320 (open): 2 due, single tubes" in opened.stdout
        listed = runner.invoke(swabs_cli.app, ["list", "--site", "S01", "--date", "2022-03-20"])
        assert listed.exit_code == 0, listed.output
        assert "S01隔离点 2022-03-20: 2 tests, 2 overdue" in listed.stdout  # today is 21 March
        nothing = runner.invoke(swabs_cli.app, ["open", "--site", "S01"])  # today: none due
        assert nothing.exit_code == 1
        assert "nothing_due" in nothing.output
    finally:
        store.engine.dispose()
        get_settings.cache_clear()
