"""Rounds on a real store: areas and their pool sizes, the due snapshot, sampling points,
exemptions, jurisdiction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.cases import service as cases_service
from fangkong.cases.schemas import CaseCreate
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import service as people_service
from fangkong.people.models import Community
from fangkong.people.schemas import PersonCreate
from fangkong.policy import load_policy
from fangkong.testing import service
from fangkong.testing.models import SamplingPoint

CITY = bind("city", "3703")
ZHOUCUN = bind("district", "370306")
ZHANGDIAN = bind("district", "370303")
POLICY = load_policy("zibo-2022-03")
NOW = datetime(2022, 3, 20, 2, 0, tzinfo=UTC)
START = datetime(2022, 3, 20, 22, 0, tzinfo=UTC)  # 06:00 local on 21 March


def resident(session: Session, no: str, street: str, community: str) -> None:
    data = PersonCreate.model_validate(
        {
            "person_no": no,
            "name": "李四",
            "district": "周村区",
            "street": street,
            "community": community,
            "compound": "丝绸苑小区",
            "building": "1号楼",
        }
    )
    people_service.create_person(session, data=data, now=NOW, scope=CITY)


@pytest.fixture
def town(session: Session) -> Session:
    """850 residents of 新建路社区 (丝绸路街道) and 40 of 东门路社区 (大街街道)."""
    for i in range(850):
        resident(session, f"PA{i:05d}", "丝绸路街道", "新建路社区")
    for i in range(40):
        resident(session, f"PB{i:05d}", "大街街道", "东门路社区")
    session.flush()
    return session


def spec(**overrides: object) -> service.RoundSpec:
    values: dict[str, object] = {
        "code": "ZC-0321",
        "name": "周村区第一轮全员核酸检测",
        "city_code": "3703",
        "areas": ["周村区"],
        "starts_at": START,
    }
    values.update(overrides)
    return service.RoundSpec(**values)  # type: ignore[arg-type]


def create(session: Session, tmp_path: Path, **overrides: object) -> service.TestingRound:
    return service.create_round(
        session,
        spec(**overrides),
        lake=tmp_path,
        policy=POLICY,
        now=NOW,
        actor="cdc",
        scope=CITY,
    )


def test_round_snapshots_the_population_due(town: Session, tmp_path: Path) -> None:
    round_ = create(town, tmp_path)
    assert round_.due_count == 890
    assert round_.ends_at == datetime(2022, 3, 21, 22, 0, tzinfo=UTC)  # within 24 h
    due = pq.read_table(service.due_path(tmp_path, "ZC-0321"))
    assert due.num_rows == 890
    assert set(due.column_names) == {
        "person_id",
        "community_id",
        "community_name",
        "street_code",
        "district_code",
    }
    assert set(due["street_code"].to_pylist()) == {"370306001", "370306002"}
    (area,) = round_.areas
    assert (area.level, area.area_code, area.population, area.pool_size) == (
        "district",
        "370306",
        890,
        10,
    )


def test_sampling_points_follow_the_guide(town: Session, tmp_path: Path) -> None:
    round_ = create(town, tmp_path)
    points = town.scalars(
        select(SamplingPoint)
        .where(SamplingPoint.round_id == round_.id)
        .order_by(SamplingPoint.population.desc())
    ).all()
    # 850 people: one point (≤ 3,000), 3 staff (÷ 360, up), 2 tables (÷ 800, up).
    assert [(p.population, p.staff, p.tables) for p in points] == [(850, 3, 2), (40, 1, 1)]
    assert {p.opens_at for p in points} == {START}


def test_pool_size_by_area_from_positivity(town: Session, tmp_path: Path) -> None:
    round_ = create(
        town,
        tmp_path,
        areas=["丝绸路街道", "大街街道"],
        pool_mode="by_area",
        positivity={"丝绸路街道": 0.05, "大街街道": 0.0001},
    )
    sizes = {a.name: (a.pool_size, a.positivity) for a in round_.areas}
    assert sizes == {"丝绸路街道": (5, 0.05), "大街街道": (20, 0.0001)}
    rule = next(a.pool_rule for a in round_.areas if a.name == "丝绸路街道")
    assert rule.startswith("zibo-2022-03:testing.dorfman:p=5.0000%,5-in-1")


def test_recent_cases_set_the_positivity(town: Session, tmp_path: Path) -> None:
    for i in range(9):
        data = CaseCreate.model_validate(
            {
                "case_no": f"ZB-{i:03d}",
                "person_no": f"PA{i:05d}",
                "classification": "asymptomatic",
                "reported_on": date(2022, 3, 19),
            }
        )
        cases_service.create_case(town, data=data, now=NOW, scope=CITY)
    round_ = create(town, tmp_path, areas=["丝绸路街道"], pool_mode="by_area")
    (area,) = round_.areas
    assert area.positivity == pytest.approx(9 / 850)
    assert area.pool_size == 10  # the Dorfman optimum among 1/5/10/20 at 1 %


def test_three_stages_when_allowed(town: Session, tmp_path: Path) -> None:
    round_ = create(
        town,
        tmp_path,
        areas=["丝绸路街道"],
        pool_mode="by_area",
        three_stage=True,
        positivity={"丝绸路街道": 0.01},
    )
    (area,) = round_.areas
    assert (area.pool_size, area.three_stage_size) == (20, 5)


def test_bad_rounds_are_refused(town: Session, tmp_path: Path) -> None:
    create(town, tmp_path)
    with pytest.raises(Conflict):
        create(town, tmp_path)
    with pytest.raises(InvalidInput, match="pool size 8"):
        create(town, tmp_path, code="R2", pool_size=8)
    with pytest.raises(InvalidInput, match="unknown area"):
        create(town, tmp_path, code="R3", areas=["火星区"])
    with pytest.raises(InvalidInput, match="inside"):
        create(town, tmp_path, code="R4", areas=["周村区", "丝绸路街道"])
    with pytest.raises(InvalidInput, match="round code"):
        create(town, tmp_path, code="../etc")
    with pytest.raises(InvalidInput, match="ends after"):
        create(town, tmp_path, code="R5", ends_at=START)


def test_jurisdiction(town: Session, tmp_path: Path) -> None:
    with pytest.raises(OutsideJurisdiction):
        service.create_round(
            town, spec(), lake=tmp_path, policy=POLICY, now=NOW, actor="zd", scope=ZHANGDIAN
        )
    round_ = service.create_round(
        town, spec(), lake=tmp_path, policy=POLICY, now=NOW, actor="zc", scope=ZHOUCUN
    )
    assert [r.code for r in service.list_rounds(town, scope=ZHOUCUN)] == [round_.code]
    assert service.list_rounds(town, scope=ZHANGDIAN) == []
    with pytest.raises(NotFound):
        service.get_round(town, code=round_.code, scope=ZHANGDIAN)
    street = bind("street", "370306002")
    assert [p.population for p in service.points_of(town, round_, street)] == [40]


def test_exemptions_are_idempotent(town: Session, tmp_path: Path) -> None:
    round_ = create(town, tmp_path)
    for reason in ("hospital", "quarantine"):
        service.exempt(
            town,
            round_,
            person_no="PA00001",
            reason=reason,
            note=None,
            actor="worker",
            now=NOW,
            scope=CITY,
        )
    table = service.exemptions_table(town, round_)
    assert table.to_pylist() == [{"person_id": "PA00001", "reason": "quarantine"}]
    with pytest.raises(InvalidInput, match="reason"):
        service.exempt(
            town,
            round_,
            person_no="PA00001",
            reason="bored",
            note=None,
            actor="w",
            now=NOW,
            scope=CITY,
        )
    with pytest.raises(NotFound):
        service.exempt(
            town,
            round_,
            person_no="PA00001",
            reason="other",
            note=None,
            actor="w",
            now=NOW,
            scope=ZHANGDIAN,
        )


def test_community_areas(town: Session, tmp_path: Path) -> None:
    community = town.scalar(select(Community).where(Community.name == "东门路社区"))
    assert community is not None
    round_ = create(town, tmp_path, areas=[f"c{community.id}"])
    assert round_.due_count == 40
    assert [a.level for a in round_.areas] == ["community"]
