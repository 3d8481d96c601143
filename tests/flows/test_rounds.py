"""A round from sampling to cases: pools, a positive pool recalled and re-sampled, a case
created exactly once, its tracing, coverage with exemptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases.models import Case
from fangkong.flows import rounds
from fangkong.lake.engine import connect
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonCreate
from fangkong.policy import load_policy
from fangkong.testing import apply, outcome, results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.testing.models import Recall

CITY = bind("city", "3703")
POLICY = load_policy("zibo-2022-03")
START = datetime(2022, 3, 20, 22, 0, tzinfo=UTC)  # 06:00 local, 21 March
CON = connect("duckdb")


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def round_(session: Session, tmp_path: Path) -> service.TestingRound:
    for i in range(12):
        data = PersonCreate.model_validate(
            {
                "person_no": f"P{i:02d}",
                "name": "孙七",
                "district": "周村区",
                "street": "丝绸路街道",
                "community": "新建路社区",
            }
        )
        people_service.create_person(session, data=data, now=START, scope=CITY)
    session.flush()
    spec = service.RoundSpec(
        code="ZC-R1", name="周村区全员核酸检测", city_code="3703", areas=["周村区"], starts_at=START
    )
    return service.create_round(
        session, spec, lake=tmp_path, policy=POLICY, now=START, actor="cdc", scope=CITY
    )


def swab(lake: Path, rows: list[tuple[str, str, int, datetime]]) -> None:
    samples.add_samples(
        lake,
        "ZC-R1",
        pa.table(
            {
                "person_id": [r[0] for r in rows],
                "tube_barcode": [r[1] for r in rows],
                "tube_size": [r[2] for r in rows],
                "point_code": ["P1"] * len(rows),
                "sampled_at": [r[3] for r in rows],
            }
        ),
    )


def lab(lake: Path, *found: tuple[str, TubeResult, datetime]) -> None:
    results.import_results(
        lake,
        "ZC-R1",
        [LabResult(tube, result, "淄博市疾控中心", when) for tube, result, when in found],
        source="test",
    )


def run(session: Session, round_: service.TestingRound, lake: Path) -> apply.ApplyReport:
    return rounds.apply_round(
        session, round_, lake=lake, policy=POLICY, now=at(600), scope=CITY, con=CON
    )


def test_a_round_from_pools_to_a_case(
    session: Session, round_: service.TestingRound, tmp_path: Path
) -> None:
    service.exempt(
        session,
        round_,
        person_no="P11",
        reason="hospital",
        note=None,
        actor="worker",
        now=START,
        scope=CITY,
    )
    # P00–P04 in pool A, P05–P09 in pool B; P10 not sampled (missing), P11 exempt.
    swab(tmp_path, [(f"P{i:02d}", "A", 5, at(i)) for i in range(5)])
    swab(tmp_path, [(f"P{i:02d}", "B", 5, at(i)) for i in range(5, 10)])
    lab(
        tmp_path,
        ("A", TubeResult.NEGATIVE, at(240)),
        ("B", TubeResult.POSITIVE, at(240)),
    )
    first = run(session, round_, tmp_path)
    counts = first.figures["counts"]
    assert (counts["due"], counts["sampled"], counts["exempt"], counts["missing"]) == (12, 10, 1, 1)
    assert (counts["cleared"], counts["pool_positive"]) == (5, 5)
    assert first.recalls_added == 5
    assert first.cases == []
    recalls = session.scalars(select(Recall).where(Recall.round_id == round_.id)).all()
    assert {r.status for r in recalls} == {"pending"}
    # The community re-samples pool B's members one by one: P07 is positive.
    swab(tmp_path, [(f"P{i:02d}", f"S{i:02d}", 1, at(300 + i)) for i in range(5, 10)])
    lab(
        tmp_path,
        *[
            (f"S{i:02d}", TubeResult.POSITIVE if i == 7 else TubeResult.NEGATIVE, at(420))
            for i in range(5, 10)
        ],
    )
    second = run(session, round_, tmp_path)
    assert second.recalls_settled == 5
    assert second.figures["counts"]["positive"] == 1
    (case_no,) = second.cases
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    assert case is not None
    assert (case.classification, case.found_via) == ("asymptomatic", "community_screening")
    assert case.reported_on.isoformat() == "2022-03-21"
    assert second.traced
    status = {
        r.person_id: r.status
        for r in session.scalars(select(Recall).where(Recall.round_id == round_.id))
    }
    assert sorted(status.values()) == ["cleared"] * 4 + ["positive"]
    # Applying again changes nothing: the case exists once.
    third = run(session, round_, tmp_path)
    assert third.cases == []
    assert third.already_cases == [case_no]
    assert session.scalar(select(Case.id).where(Case.case_no.like("ZC-R1-%"))) == case.id
    figures = json.loads(round_.outcome or "{}")
    assert figures["tubes_first_stage"] == 2
    assert figures["tubes_retest"] == 5
    missing = outcome.read_status(tmp_path, "ZC-R1", states=["missing"])
    assert missing["person_id"].to_pylist() == ["P10"]


def test_recall_status_by_hand(
    session: Session, round_: service.TestingRound, tmp_path: Path
) -> None:
    swab(tmp_path, [(f"P{i:02d}", "B", 5, at(i)) for i in range(5)])
    lab(tmp_path, ("B", TubeResult.POSITIVE, at(240)))
    run(session, round_, tmp_path)
    recall = session.scalars(select(Recall)).first()
    assert recall is not None
    apply.recall_status(session, recall, status="resampled", now=at(300))
    assert recall.status == "resampled"
    with pytest.raises(ValueError, match="by hand"):
        apply.recall_status(session, recall, status="cleared", now=at(300))


def test_three_stages_only_within_the_recall_window(
    session: Session, round_: service.TestingRound, tmp_path: Path
) -> None:
    assert service.three_stages_fit(None, POLICY)  # nothing measured yet
    assert service.three_stages_fit(3.0, POLICY)  # two lab cycles in 6 h
    assert not service.three_stages_fit(3.5, POLICY)
    swab(tmp_path, [(f"P{i:02d}", "A", 5, at(i)) for i in range(5)])
    lab(tmp_path, ("A", TubeResult.NEGATIVE, at(240)))  # about 4 h from the last swab
    run(session, round_, tmp_path)
    assert service.measured_turnaround(session, tmp_path, "3703") == pytest.approx(236 / 60)
    spec = service.RoundSpec(
        code="ZC-R2",
        name="第二轮",
        city_code="3703",
        areas=["周村区"],
        starts_at=START + timedelta(days=1),
        pool_mode="by_area",
        three_stage=True,
        positivity={"周村区": 0.01},
    )
    second = service.create_round(
        session, spec, lake=tmp_path, policy=POLICY, now=START, actor="cdc", scope=CITY
    )
    (area,) = second.areas
    assert (area.pool_size, area.three_stage_size) == (10, None)
    assert area.pool_rule.endswith("two stages: zibo-2022-03:testing.recall_hours")
    assert not second.three_stage
