"""The demo: the synthetic city and the replay as pure generators, then the seed figures
read back through the case service from the suite's store (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases_service
from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.demo import load
from fangkong.demo.city import City, build_city
from fangkong.demo.cli import NOW
from fangkong.demo.outbreak import (
    SEED_BULLETINS,
    SEED_DAYS,
    SEED_DISCHARGED,
    SEED_TOTALS,
    START,
    CaseRow,
    replay,
)
from fangkong.people import vocab
from fangkong.people.identity import birth_of, sex_of, validate_id_number
from fangkong.policy import load_policy
from fangkong.regions import service as regions

SEED = 2022
ZIBO = "3703"
ZHOUCUN, ZICHUAN, ZHANGDIAN, HUANTAI = "370306", "370302", "370303", "370321"
POLICY = load_policy("zibo-2022-03")


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(seed=SEED, scale=0.1)


@pytest.fixture(scope="module")
def cases(city: City) -> tuple[CaseRow, ...]:
    return replay(city, seed=SEED)


# ---------------------------------------------------------------- the city


def test_the_same_seed_gives_the_same_city_and_outbreak() -> None:
    one, two = build_city(seed=7, scale=0.05), build_city(seed=7, scale=0.05)
    assert one == two
    assert replay(one, seed=7) == replay(two, seed=7)
    other = build_city(seed=8, scale=0.05)
    assert other.persons != one.persons


def test_scale_sets_the_size(city: City) -> None:
    assert len(city.persons) == 2_000
    assert len(build_city(seed=SEED, scale=0.05).persons) == 1_000


def test_id_numbers_are_valid_unique_and_match_the_person(city: City) -> None:
    numbers = [p.id_number for p in city.persons]
    assert len(set(numbers)) == len(numbers)
    for p in city.persons:
        assert validate_id_number(p.id_number) == p.id_number  # GB 11643 check digit
        assert p.id_number[:6] == p.district
        assert birth_of(p.id_number).year == p.birth_year
        assert sex_of(p.id_number) == p.sex


def test_phones_are_mobile_numbers_and_unique(city: City) -> None:
    phones = [p.phone for p in city.persons if p.phone]
    assert len(phones) > len(city.persons) * 0.7
    assert len(set(phones)) == len(phones)
    assert all(len(p) == 11 and p.startswith("1") and p.isdigit() for p in phones)


def test_every_address_is_inside_its_district(city: City) -> None:
    streets = regions.registry().streets
    places = [
        *((p.district, p.street) for p in city.persons),
        *((w.district, w.street) for w in city.workplaces),
        *((v.district, v.street) for v in city.venues),
    ]
    for district, street in places:
        assert streets[street].district_code == district
        assert district[:4] == ZIBO


def test_households_have_one_to_five_members_at_one_address(city: City) -> None:
    members = defaultdict(list)
    for p in city.persons:
        members[p.household_id].append(p)
    sizes = Counter(len(m) for m in members.values())
    assert set(sizes) <= {1, 2, 3, 4, 5}
    assert sizes[2] > sizes[5] > 0
    for people in members.values():
        assert len({(p.street, p.community, p.compound, p.building, p.room) for p in people}) == 1


def test_population_follows_the_districts(city: City) -> None:
    by_district = Counter(p.district for p in city.persons)
    assert by_district.most_common(1)[0][0] == ZHANGDIAN
    assert set(by_district) == {d.code for d in regions.districts(ZIBO)}
    by_unit = Counter(city.unit_code(p) for p in city.persons)
    assert by_unit["3703-wch"] > 0
    assert by_unit["3703-gxq"] > 0


def test_workplaces_employ_most_adults_in_their_own_units(city: City) -> None:
    units = {w.workplace_id: {name for name, _ in w.units} for w in city.workplaces}
    adults = [p for p in city.persons if 1962 <= p.birth_year <= 2004]
    assert sum(1 for p in adults if p.workplace_id) > len(adults) * 0.6
    for p in city.persons:
        if p.workplace_id:
            assert p.workplace_unit in units[p.workplace_id]
    assert {w.industry for w in city.workplaces} <= set(vocab.INDUSTRIES)
    kinds = {kind for w in city.workplaces for _, kind in w.units}
    assert kinds <= set(vocab.UNIT_KINDS)
    assert "classroom" in kinds
    assert "workshop" in kinds


def test_venues_have_unique_codes_and_known_categories(city: City) -> None:
    codes = [v.venue_code for v in city.venues]
    assert len(set(codes)) == len(codes)
    categories = {v.category for v in city.venues}
    assert categories <= set(vocab.VENUE_CATEGORIES)
    assert {"supermarket", "restaurant", "transport", "hospital", "school"} <= categories
    assert all(v.capacity > 0 for v in city.venues)


# ---------------------------------------------------------------- the outbreak table


def test_the_seed_table_adds_up() -> None:
    for day in SEED_DAYS:
        if day.units is not None:
            assert sum(day.units.values()) == day.new
    by_day = {d.day: d for d in SEED_DAYS}
    days = sorted(SEED_TOTALS)
    for before, after in itertools.pairwise(days):
        conversions = sum(by_day[after].conversions.values())
        confirmed, asymptomatic = SEED_TOTALS[before]
        assert SEED_TOTALS[after] == (
            confirmed + conversions,
            asymptomatic + by_day[after].new - conversions,
        )
    assert date(2022, 3, 8) == START
    assert set(SEED_BULLETINS) == set(days)


def test_cases_live_where_they_are_reported(city: City, cases: tuple[CaseRow, ...]) -> None:
    persons = {p.person_id: p for p in city.persons}
    assert len({c.person_id for c in cases}) == len(cases)
    numbers = {c.case_no: c for c in cases}
    for c in cases:
        person = persons[c.person_id]
        assert (c.district, c.street, c.name, c.id_number) == (
            person.district,
            person.street,
            person.name,
            person.id_number,
        )
        assert c.reported_on - timedelta(days=1) <= c.sampled_on <= c.reported_on
        if c.classification == "confirmed":
            assert c.onset_on is not None
            assert c.onset_on <= c.reported_on
        if c.infector_case_no:
            assert numbers[c.infector_case_no].reported_on < c.reported_on
    zhoucun_21 = [c for c in cases if c.reported_on == date(2022, 3, 21) and c.district == ZHOUCUN]
    assert all(regions.unit_for(c.district, c.street).code == ZHOUCUN for c in zhoucun_21)
    linked = sum(1 for c in cases if c.infector_case_no)
    assert linked > len(cases) * 0.6


def test_the_curve_rises_peaks_and_falls(cases: tuple[CaseRow, ...]) -> None:
    local = Counter(c.reported_on for c in cases if c.origin == "local")
    peak = max(local, key=lambda d: local[d])
    assert date(2022, 3, 12) <= peak <= date(2022, 3, 15)
    assert local[date(2022, 3, 19)] >= 10
    assert local[START] < local[peak]
    assert local[date(2022, 3, 19)] < local[peak]
    assert any(c.origin == "other_province" for c in cases)


# ---------------------------------------------------------------- the figures, on the store


def test_the_store_reproduces_the_seed_figures(
    session: Session, city: City, cases: tuple[CaseRow, ...]
) -> None:
    for name, data in load.csv_files(city, cases).items():
        report = load.import_file(session, name, data, now=NOW)
        assert report.added > 0
        assert report.rejected == 0
    figures = load.read_figures(session, policy=POLICY)
    new = {f.day: f.new_total for f in figures.days}
    assert [new[date(2022, 3, d)] for d in (20, 21, 22, 23)] == [6, 7, 3, 1]
    assert all(figures.day(date(2022, 3, d)).new_confirmed == 0 for d in (20, 21, 22, 23))

    def split(day: date) -> dict[str, int]:
        return {
            unit.code: fig.new_total
            for unit, fig in cases_service.unit_figures(
                session, city_code=ZIBO, day=day, policy=POLICY, scope=bind("city", ZIBO)
            )
            if fig.new_total
        }

    assert split(date(2022, 3, 21)) == {ZHOUCUN: 5, ZICHUAN: 2}
    assert split(date(2022, 3, 22)) == {ZHOUCUN: 2, HUANTAI: 1}
    assert split(date(2022, 3, 23)) == {HUANTAI: 1}
    assert figures.day(date(2022, 3, 22)).conversions == 1
    totals = {
        f.day: (f.total_confirmed, f.total_asymptomatic)
        for f in figures.days
        if f.day in SEED_TOTALS
    }
    assert totals == {
        date(2022, 3, 21): (45, 148),
        date(2022, 3, 22): (46, 150),
        date(2022, 3, 23): (46, 151),
    }
    discharged_by, discharged = SEED_DISCHARGED
    assert figures.day(discharged_by).total_discharged == discharged == 31
    assert figures.day(date(2022, 3, 23)).discharges == 0
    for d in range(19, 24):
        assert figures.day(date(2022, 3, d)).community_zero
    assert not figures.day(date(2022, 3, 18)).community_zero
    assert figures.day(date(2022, 3, 21)).zero_streak == 3
    assert figures.day(date(2022, 3, 21)).community_cleared
    assert not figures.day(date(2022, 3, 21)).stable_control
    assert figures.day(date(2022, 3, 22)).stable_control
    assert dict(figures.bulletins) == {
        date(2022, 3, 21): (
            "3月21日0时至24时，淄博市报告新增本土无症状感染者7例，其中周村区5例、淄川区2例。"
            "截至3月21日24时，淄博市本土确诊病例45例、本土无症状感染者148例。"
        ),
        date(2022, 3, 22): (
            "3月22日0时至24时，淄博市报告新增本土无症状感染者3例，其中周村区2例、桓台县1例。"
            "淄博市报告本土无症状感染者转为确诊病例1例，在周村区。"
            "自3月8日至3月22日24时，淄博市累计报告本土确诊病例46例、本土无症状感染者150例。"
        ),
        date(2022, 3, 23): (
            "3月23日0时至24时，淄博市报告新增本土无症状感染者1例，在桓台县，"
            "为集中隔离点的隔离人员。"
            "自3月8日至3月23日24时，淄博市累计报告本土确诊病例46例、本土无症状感染者151例。"
        ),
    }
    # the bulletin of 3/21 counts "截至" (ever) and still agrees: nothing local before 3/8
    since_start = cases_service.day_series(
        session,
        city_code=ZIBO,
        start=date(2022, 3, 21),
        end=date(2022, 3, 21),
        policy=POLICY,
        scope=bind("city", ZIBO),
    )
    assert (since_start[0].total_confirmed, since_start[0].total_asymptomatic) == (45, 148)


def test_importing_the_demo_files_twice_changes_nothing(
    session: Session, city: City, cases: tuple[CaseRow, ...]
) -> None:
    files = load.csv_files(city, cases)
    for name, data in files.items():
        load.import_file(session, name, data, now=NOW)
    report = load.import_file(session, "cases.csv", files["cases.csv"], now=NOW)
    assert (report.added, report.updated, report.unchanged) == (0, 0, len(cases))


# ---------------------------------------------------------------- the command


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path))
    monkeypatch.delenv("FANGKONG_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@dataclass(frozen=True)
class Built:
    home: Path
    output: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """``fangkong demo`` run once for the module (a couple of minutes: the tests below read
    what it built instead of each building their own), beside a real store it must leave
    alone."""
    home = tmp_path_factory.mktemp("demo-home")
    (home / "fangkong.db").write_bytes(b"a real store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FANGKONG_HOME", str(home))
        patch.delenv("FANGKONG_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["demo", "--no-serve", "--scale", "0.05"])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return Built(home, result.output)


def test_the_command_builds_a_separate_store(built: Built) -> None:
    home, output = built.home, built.output
    assert (home / "demo.db").exists()
    assert (home / "fangkong.db").read_bytes() == b"a real store"
    assert {p.name for p in (home / "demo").iterdir()} == {
        "people.csv",
        "workplaces.csv",
        "venues.csv",
        "cases.csv",
        "scans.csv",
        "sites.csv",  # the quarantine sites, in the import format
        "lake",  # the demo's own lake, apart from a real one in home/lake
    }
    assert not (home / "lake").exists()
    assert "close contacts per case" in output
    assert "转运隔离 quarantine" in output
    assert "home monitoring:" in output
    assert "截至3月21日24时，淄博市本土确诊病例45例、本土无症状感染者148例。" in output
    assert "✗" not in output


def test_the_command_leaves_a_configured_database_alone(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_DATABASE_URL", f"sqlite:///{home / 'shared.db'}")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--scale", "0.05"])
    assert result.exit_code == 2
    assert "--reset-database" in result.output
    assert not (home / "shared.db").exists()
    for _ in range(2):  # the second run wipes what the first built
        reset = CliRunner().invoke(
            app, ["demo", "--no-serve", "--scale", "0.05", "--reset-database", "--seed", "3"]
        )
        assert reset.exit_code == 0, reset.output
    assert not (home / "demo.db").exists()


def test_the_demo_traces_its_cases(built: Built) -> None:
    from sqlalchemy import func, select

    from fangkong.cases.models import Case
    from fangkong.demo.cli import demo_settings
    from fangkong.deps import open_store
    from fangkong.monitoring.models import MonitoringTask
    from fangkong.people.models import Person
    from fangkong.quarantine.models import QuarantineOrder
    from fangkong.testing import outcome
    from fangkong.testing.models import TestingRound
    from fangkong.tracing.models import Contact

    home = built.home
    store = open_store(demo_settings(home / "demo", f"sqlite:///{home / 'demo.db'}"))
    with store.sessions() as session:
        degrees = dict(
            session.execute(select(Contact.degree, func.count()).group_by(Contact.degree)).all()
        )
        round_ = session.scalar(select(TestingRound).where(TestingRound.code == "ZC-2022-03-16"))
        cases = session.scalar(select(func.count(Case.id)))
        statuses = dict(
            session.execute(
                select(QuarantineOrder.status, func.count()).group_by(QuarantineOrder.status)
            ).all()
        )
        converted_right = session.scalar(
            select(func.count(QuarantineOrder.id))
            .join(Case, Case.id == QuarantineOrder.converted_case_id)
            .where(Case.person_id == QuarantineOrder.person_id)
        )
        tasks = session.scalar(select(func.count(MonitoringTask.id)))
        positives = outcome.read_positives(home / "demo" / "lake", "ZC-2022-03-16")
        found_again = session.scalar(
            select(func.count(Case.id))
            .join(Person, Person.id == Case.person_id)
            .where(Person.person_no.in_(positives["person_id"].to_pylist()))
        )
    store.engine.dispose()
    # The mass-testing round of 周村区 on 16 March: every due person accounted for, and its
    # positives are the replay's cases found again, not new ones (the seed figures hold).
    assert round_ is not None
    assert round_.code == "ZC-2022-03-16"
    counts = json.loads(round_.outcome or "{}")["counts"]
    assert counts["sampled"] + counts["exempt"] + counts["missing"] == counts["due"] > 0
    assert counts["exempt"] > 0
    assert cases == 199
    assert found_again == counts["positive"] == positives.num_rows
    # The contacts went into quarantine day by day: some are at a site, some already home
    # under monitoring with its alerts, some still on the road; the ones who turned
    # positive are their own cases.
    assert statuses.get("in_quarantine", 0) > 0
    assert statuses.get("in_home_monitoring", 0) > 0
    assert statuses.get("converted", 0) == converted_right > 0
    assert tasks is not None
    assert tasks > 0
    # Household, workplace-unit and venue contacts all exist in the replayed city.
    assert degrees.get("close", 0) > 100
    assert degrees.get("secondary", 0) > 0


def test_the_demo_venue_token_posts_a_scan(built: Built) -> None:
    """Every demo account is bound to a place of the demo (flows.accounts refuses others):
    the venue device's token, as printed, posts a scan of its venue."""
    import re

    from fastapi.testclient import TestClient

    from fangkong.clock import FixedClock
    from fangkong.demo.cli import demo_settings
    from fangkong.demo.users import USERS
    from fangkong.main import create_app

    venue = next(u for u in USERS if u.role == "venue_device")
    found = re.search(rf"API token of {venue.username}: (\S+)", built.output)
    assert found is not None, built.output
    settings = demo_settings(built.home / "demo", f"sqlite:///{built.home / 'demo.db'}")
    application = create_app(settings)
    application.state.clock = FixedClock(NOW)
    scan = {"person_id": "P0000001", "venue_code": venue.scope_code}
    scan["entered_at"] = "2022-03-23T08:00:00"
    with TestClient(application) as device:
        device.headers["Authorization"] = f"Bearer {found.group(1)}"
        posted = device.post("/api/v1/scans", json=[scan])
    application.state.store.engine.dispose()
    assert posted.status_code == 202, posted.text
    assert posted.json()["accepted"] == 1
