"""Zones as testing areas: a round naming a zone samples the registry areas holding it,
records the zone's screening when applied, and a positive it finds inside a sealed zone is
found via 封控区筛查 — outside the zone, by the community's screening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases.models import Case
from fangkong.errors import FangkongError
from fangkong.flows import rounds
from fangkong.policy import load_policy
from fangkong.testing import results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.zones import drawing, lifting, screening
from fangkong.zones.models import ZoneScreening
from tests.quarantine import factories
from tests.quarantine.factories import CITY, DAY, NOW

POLICY = load_policy("zibo-2022-03")
START = datetime(2022, 3, 17, 22, 0, tzinfo=UTC)  # 06:00 local, 18 March


def zones(session: Session) -> dict[str, str]:
    """A case in 丝绸苑小区: its zones confirmed; level → code."""
    sick = factories.resident(session, "P00")
    for i in range(1, 4):  # neighbours in the sealed compound
        factories.resident(session, f"P{i:02d}", building="2号楼")
    for i in range(4, 6):  # the same community, another compound
        factories.resident(session, f"P{i:02d}", compound="新华苑小区", building="1号楼")
    factories.case(session, "C1", sick, reported_on=DAY)
    made = drawing.propose_zones(session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t")
    for z in made:
        drawing.confirm(session, code=z.code, scope=CITY, effective_at=NOW, now=NOW, by="hq")
    return {z.level: z.code for z in made}


def spec(areas: list[str], code: str = "ZR-1", start: datetime = START) -> service.RoundSpec:
    return service.RoundSpec(
        code=code, name="封控区筛查", city_code="3703", areas=areas, starts_at=start
    )


def swab_and_result(
    lake: Path, code: str, persons: list[str], positive: str | None, start: datetime = START
) -> None:
    at = start + timedelta(minutes=5)
    samples.add_samples(
        lake,
        code,
        pa.table(
            {
                "person_id": persons,
                "tube_barcode": [f"T{p}" for p in persons],
                "tube_size": [1] * len(persons),
                "point_code": ["P1"] * len(persons),
                "sampled_at": [at] * len(persons),
            }
        ),
    )
    results.import_results(
        lake,
        code,
        [
            LabResult(
                f"T{p}",
                TubeResult.POSITIVE if p == positive else TubeResult.NEGATIVE,
                "淄博市疾控中心",
                at + timedelta(hours=4),
            )
            for p in persons
        ],
        source="test",
    )


def test_a_round_over_a_sealed_zone(session: Session, tmp_path: Path) -> None:
    codes = zones(session)
    round_ = rounds.create_round(
        session,
        spec([codes["sealed"]]),
        lake=tmp_path,
        policy=POLICY,
        now=NOW,
        actor="cdc",
        scope=CITY,
    )
    # the compound is sampled through its community: all six residents are due
    assert [a.level for a in round_.areas] == ["community"]
    assert round_.due_count == 6
    assert screening.round_zone_codes(session, "ZR-1") == [codes["sealed"]]
    # P02 (inside the sealed compound) and P05 (outside it) are positive
    swab_and_result(tmp_path, "ZR-1", [f"P{i:02d}" for i in range(6) if i != 5], "P02")
    report = rounds.apply_round(
        session, round_, lake=tmp_path, policy=POLICY, now=START + timedelta(hours=6), scope=CITY
    )
    (case_no,) = report.cases
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    assert case is not None
    assert case.found_via == "sealed_zone_screening"
    rows = session.scalars(select(ZoneScreening)).all()
    assert [(r.round_code, r.day.isoformat(), r.sampled, r.positives) for r in rows] == [
        ("ZR-1", "2022-03-18", 4, 1)
    ]
    # applying again updates the same screening, not a second one
    rounds.apply_round(
        session, round_, lake=tmp_path, policy=POLICY, now=START + timedelta(hours=7), scope=CITY
    )
    assert len(session.scalars(select(ZoneScreening)).all()) == 1


def test_a_positive_outside_the_targeted_zone_is_the_communitys(
    session: Session, tmp_path: Path
) -> None:
    codes = zones(session)
    late = START + timedelta(days=11)  # 29 March: in the last 2 of the sealed zone's 14 days
    round_ = rounds.create_round(
        session,
        spec([codes["sealed"]], start=late),
        lake=tmp_path,
        policy=POLICY,
        now=NOW,
        actor="cdc",
        scope=CITY,
    )
    swab_and_result(tmp_path, "ZR-1", [f"P{i:02d}" for i in range(6)], "P05", start=late)
    report = rounds.apply_round(
        session, round_, lake=tmp_path, policy=POLICY, now=late + timedelta(hours=6), scope=CITY
    )
    (case_no,) = report.cases
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    assert case is not None
    assert case.found_via == "community_screening"
    (row,) = session.scalars(select(ZoneScreening)).all()
    assert (row.day.isoformat(), row.sampled, row.positives) == ("2022-03-29", 4, 0)
    # the zone's all-negative round is what its countdown waits for
    found = lifting.evaluate_zone(
        session, code=codes["sealed"], day=DAY + timedelta(days=14), policy=POLICY, scope=CITY
    )
    assert found is not None
    (round_met,) = [c for c in found.verdict.conditions if c.code == "screening"]
    assert (round_met.met, round_met.detail) == (True, "03月29日筛查全阴")
    assert found.verdict.allowed


def test_a_controlled_zone_round_and_refusals(session: Session, tmp_path: Path) -> None:
    codes = zones(session)
    round_ = rounds.create_round(
        session,
        spec([codes["controlled"], codes["sealed"]]),
        lake=tmp_path,
        policy=POLICY,
        now=NOW,
        actor="cdc",
        scope=CITY,
    )
    assert len(round_.areas) == 1  # both zones lie in one community
    swab_and_result(tmp_path, "ZR-1", [f"P{i:02d}" for i in range(6)], "P05")
    report = rounds.apply_round(
        session, round_, lake=tmp_path, policy=POLICY, now=START + timedelta(hours=6), scope=CITY
    )
    case = session.scalar(select(Case).where(Case.case_no == report.cases[0]))
    assert case is not None
    assert case.found_via == "controlled_zone_screening"
    # a proposal is not screened; nor an unknown zone, nor a zone elsewhere for a district
    other = factories.resident(
        session, "Q1", district="张店区", street=None, community=None, compound=None, building=None
    )
    factories.case(session, "C2", other, reported_on=DAY, district="张店区")
    (proposal, *_) = drawing.propose_zones(
        session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t", case_nos=["C2"]
    )
    for given, status, code in (
        (proposal.code, 422, "zone_not_screenable"),
        ("Z3703-20990101-001", 404, "not_found"),
    ):
        with pytest.raises(FangkongError) as refused:
            rounds.create_round(
                session,
                spec([given], "ZR-2"),
                lake=tmp_path,
                policy=POLICY,
                now=NOW,
                actor="cdc",
                scope=CITY,
            )
        assert (refused.value.status, refused.value.code) == (status, code)
    with pytest.raises(FangkongError) as elsewhere:
        rounds.create_round(
            session,
            spec([codes["sealed"]], "ZR-3"),
            lake=tmp_path,
            policy=POLICY,
            now=NOW,
            actor="zd",
            scope=bind("district", "370303"),
        )
    assert elsewhere.value.status == 404
