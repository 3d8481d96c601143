"""Routine testing of key populations: compliance per worker, enterprise and group, and
routine rounds over the workers of the key industries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.errors import InvalidInput
from fangkong.people import service as people_service
from fangkong.people import workplaces
from fangkong.people.schemas import PersonCreate, WorkplaceCreate
from fangkong.policy import load_policy
from fangkong.testing import routine, service
from fangkong.testing.lake import SAMPLE_STREAM, SAMPLES

CITY = bind("city", "3703")
POLICY = load_policy("zibo-2022-03")
AT = datetime(2022, 3, 25, 4, 0, tzinfo=UTC)


def workplace(session: Session, no: str, industry: str, district: str = "周村区") -> None:
    data = WorkplaceCreate.model_validate(
        {
            "workplace_no": no,
            "name": f"单位{no}",
            "industry": industry,
            "district": district,
            "units": [{"name": "一车间"}],
        }
    )
    workplaces.create_workplace(session, data=data, scope=CITY)


def worker(session: Session, no: str, workplace_no: str) -> None:
    data = PersonCreate.model_validate(
        {
            "person_no": no,
            "name": "王五",
            "district": "周村区",
            "workplace_no": workplace_no,
            "workplace_unit": "一车间",
        }
    )
    people_service.create_person(session, data=data, now=AT, scope=CITY)


def sampled(lake: Path, round_code: str, *rows: tuple[str, datetime]) -> None:
    table = pa.table(
        {
            "round_code": [round_code] * len(rows),
            "person_id": [p for p, _ in rows],
            "tube_barcode": [f"T-{p}" for p, _ in rows],
            "tube_size": pa.array([1] * len(rows), pa.int16()),
            "point_code": ["P1"] * len(rows),
            "sampled_at": [t for _, t in rows],
        },
        schema=SAMPLES,
    )
    pq.write_table(table, SAMPLE_STREAM.new_part(lake, round_code))


@pytest.fixture
def firms(session: Session, tmp_path: Path) -> Path:
    workplace(session, "HOSP", "healthcare")  # daily
    workplace(session, "FAB", "manufacturing")  # twice weekly (every 3.5 days)
    workplace(session, "SHOP", "retail")  # weekly
    for no, firm in [("D1", "HOSP"), ("D2", "HOSP"), ("F1", "FAB"), ("F2", "FAB"), ("S1", "SHOP")]:
        worker(session, no, firm)
    session.flush()
    sampled(tmp_path, "R1", ("D1", AT - timedelta(hours=20)), ("F1", AT - timedelta(days=4)))
    sampled(tmp_path, "R2", ("D2", AT - timedelta(days=2)), ("S1", AT - timedelta(days=6)))
    return tmp_path


def test_compliance_per_worker_enterprise_and_group(session: Session, firms: Path) -> None:
    report = routine.compliance(session, lake=firms, policy=POLICY, at=AT, scope=CITY)
    status = {w.person_no: w.status for w in report.workers}
    # D1 within a day; D2 two days ago (daily: overdue); F1 4 days ago (twice weekly:
    # overdue); F2 never; S1 6 days ago (weekly: compliant). Samples of any round count.
    assert status == {
        "D1": "compliant",
        "D2": "overdue",
        "F1": "overdue",
        "F2": "never",
        "S1": "compliant",
    }
    d1 = next(w for w in report.workers if w.person_no == "D1")
    assert d1.due_by == AT + timedelta(hours=4)
    firms_ = {t.key: (t.workers, t.compliant, t.overdue, t.never) for t in report.enterprises}
    assert firms_ == {"FAB": (2, 0, 1, 1), "HOSP": (2, 1, 1, 0), "SHOP": (1, 1, 0, 0)}
    groups = {t.label: t.rate for t in report.groups}
    assert groups == {"医疗卫生": 0.5, "制造业": 0.0, "批发零售": 1.0}
    assert report.rule == "zibo-2022-03:testing.routine_groups"


def test_compliance_within_jurisdiction(session: Session, firms: Path) -> None:
    zhangdian = bind("district", "370303")
    report = routine.compliance(session, lake=firms, policy=POLICY, at=AT, scope=zhangdian)
    assert report.workers == []
    one = routine.compliance(
        session, lake=firms, policy=POLICY, at=AT, scope=CITY, industry="retail"
    )
    assert [w.person_no for w in one.workers] == ["S1"]


def test_no_samples_yet(session: Session, tmp_path: Path) -> None:
    workplace(session, "HOSP", "healthcare")
    worker(session, "D1", "HOSP")
    report = routine.compliance(session, lake=tmp_path, policy=POLICY, at=AT, scope=CITY)
    assert [w.status for w in report.workers] == ["never"]


def test_routine_round_samples_the_key_workers(session: Session, firms: Path) -> None:
    people_service.create_person(
        session,
        data=PersonCreate.model_validate({"person_no": "R1", "name": "赵六", "district": "周村区"}),
        now=AT,
        scope=CITY,
    )
    spec = service.RoundSpec(
        code="RT-W12",
        name="常态化核酸检测",
        city_code="3703",
        areas=["周村区"],
        starts_at=AT,
        kind="routine",
    )
    round_ = service.create_round(
        session, spec, lake=firms, policy=POLICY, now=AT, actor="cdc", scope=CITY
    )
    assert round_.due_count == 5  # the workers, not the resident without work
    assert service.points_of(session, round_, CITY) == []
    national = load_policy("national-9")
    with pytest.raises(InvalidInput, match="no key populations"):
        service.create_round(
            session,
            service.RoundSpec(**{**spec.__dict__, "code": "RT-2"}),
            lake=firms,
            policy=national,
            now=AT,
            actor="cdc",
            scope=CITY,
        )
