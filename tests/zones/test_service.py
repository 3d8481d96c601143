"""Zones on a real store: proposals from a registered case, confirm / reject with a reason,
the status of persons, venues and workplaces on past days, lifting after a screening round,
jurisdiction, invalid polygons, and the reopening queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.errors import FangkongError, NotFound
from fangkong.people import venues as people_venues
from fangkong.people.schemas import VenueCreate
from fangkong.policy import load_policy
from fangkong.zones import drawing, lifting, records, reopening, service
from fangkong.zones.geo import InvalidPolygon, gcj02_to_wgs84, parse_polygon, wgs84_to_gcj02
from tests.quarantine import factories
from tests.quarantine.factories import CITY, DAY, NOW

POLICY = load_policy("zibo-2022-03")
ZHANGDIAN = bind("district", "370303")
ZHOUCUN = bind("district", "370306")


def setup_case(session: Session) -> tuple[int, int]:
    sick = factories.resident(session, "P1", compound="丝绸苑小区", building="1号楼")
    neighbour = factories.resident(
        session, "P2", name="李四", compound="丝绸苑小区", building="2号楼"
    )
    factories.resident(
        session,
        "P3",
        name="张三",
        district="张店区",
        street=None,
        community=None,
        compound=None,
        building=None,
    )
    factories.case(session, "C1", sick, reported_on=DAY)
    session.flush()
    return sick.id, neighbour.id


def test_a_case_proposes_zones_and_the_hq_confirms_them(session: Session) -> None:
    sick, neighbour = setup_case(session)
    made = drawing.propose_zones(session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t")
    assert [(z.level, z.units[0].kind) for z in made] == [
        ("sealed", "compound"),
        ("controlled", "community"),
        ("precaution", "district"),
    ]
    sealed = made[0]
    assert sealed.status == "proposed"
    assert sealed.residents == 2
    assert sealed.case_nos == "C1"
    assert sealed.events[0].rule == "zibo-2022-03:zones.seal_unit"
    # a proposal is not a zone yet
    assert service.status_of_persons(session, [sick], DAY) == {}
    # proposing again adds nothing
    again = drawing.propose_zones(session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t")
    assert again == []
    for zone in made:
        drawing.confirm(session, code=zone.code, scope=CITY, effective_at=NOW, now=NOW, by="hq")
    status = service.status_of_persons(session, [sick, neighbour], DAY)
    assert status[sick].level == "sealed"
    assert status[sick].zone_code == sealed.code
    assert status[sick].since == DAY
    assert status[neighbour].level == "sealed"
    assert service.status_of_persons(session, [sick], DAY - timedelta(days=1)) == {}
    found = service.status_of_address(session, day=DAY, district_code="370306")
    assert found is not None
    assert found.level == "precaution"


def test_reject_needs_a_reason_and_a_district_sees_only_its_own(session: Session) -> None:
    setup_case(session)
    made = drawing.propose_zones(session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t")
    with pytest.raises(FangkongError) as err:
        drawing.reject(session, code=made[0].code, scope=CITY, reason=" ", now=NOW, by="hq")
    assert err.value.code == "reason_required"
    zone = drawing.reject(
        session, code=made[0].code, scope=CITY, reason="已核实为外地住址", now=NOW, by="hq"
    )
    assert zone.status == "rejected"
    assert zone.events[-1].reason == "已核实为外地住址"
    with pytest.raises(NotFound):
        records.get_zone(session, code=made[1].code, scope=ZHANGDIAN)
    assert records.get_zone(session, code=made[1].code, scope=ZHOUCUN).code == made[1].code
    # a district officer of 张店 proposes nothing from a 周村 case
    assert (
        drawing.propose_zones(session, day=DAY, policy=POLICY, scope=ZHANGDIAN, now=NOW, by="z")
        == []
    )


def test_lifting_applies_what_the_rules_allow_and_holds_the_rest(session: Session) -> None:
    sick, _ = setup_case(session)
    made = drawing.propose_zones(session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t")
    for zone in made:
        drawing.confirm(session, code=zone.code, scope=CITY, effective_at=NOW, now=NOW, by="hq")
    sealed, controlled, precaution = made
    day14 = DAY + timedelta(days=14)
    drawing.record_screening(
        session,
        code=sealed.code,
        scope=CITY,
        day=day14,
        round_code="R1",
        sampled=200,
        positives=0,
        now=NOW,
        by="t",
    )
    held = lifting.lift(
        session, day=day14 - timedelta(days=1), policy=POLICY, scope=CITY, now=NOW, by="hq"
    )
    assert held.applied == []
    blocking = {e.zone.code: [c.code for c in e.verdict.blocking] for e in held.held}
    assert "quiet_days" in blocking[sealed.code]
    assert blocking[precaution.code] == ["county_clear"]
    run = lifting.lift(session, day=day14, policy=POLICY, scope=CITY, now=NOW, by="hq")
    assert [e.zone.code for e, _ in run.applied] == [sealed.code]
    held_codes = {e.zone.code: e.verdict.blocking[0].code for e in run.held}
    assert held_codes == {controlled.code: "screening", precaution.code: "county_clear"}
    assert sealed.status == "lifted"
    status = service.status_of_persons(session, [sick], day14)
    assert status[sick].level == "controlled"
    # the past stays as it was
    assert service.status_of_persons(session, [sick], DAY + timedelta(days=3))[sick].level == (
        "sealed"
    )


def test_a_new_positive_restarts_the_count(session: Session) -> None:
    setup_case(session)
    made = drawing.propose_zones(session, day=DAY, policy=POLICY, scope=CITY, now=NOW, by="t")
    drawing.confirm(session, code=made[0].code, scope=CITY, effective_at=NOW, now=NOW, by="hq")
    later = factories.resident(session, "P4", name="赵六", compound="丝绸苑小区", building="3号楼")
    factories.case(session, "C2", later, reported_on=DAY + timedelta(days=5))
    session.flush()
    found = lifting.evaluate_zone(
        session, code=made[0].code, day=DAY + timedelta(days=14), policy=POLICY, scope=CITY
    )
    assert found is not None
    assert found.verdict.start == DAY + timedelta(days=5)
    assert found.verdict.days_left == 5


def test_invalid_polygons_are_refused_with_the_reason(session: Session) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(InvalidPolygon, match="Self-intersection"):
        parse_polygon(bowtie)
    with pytest.raises(InvalidPolygon, match="not closed"):
        parse_polygon({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    with pytest.raises(InvalidPolygon, match="outside WGS-84"):
        parse_polygon({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]})
    with pytest.raises(InvalidPolygon, match="at least 4"):
        parse_polygon({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    with pytest.raises(InvalidPolygon, match="Polygon or MultiPolygon"):
        parse_polygon({"type": "Point", "coordinates": [0, 0]})


def test_gcj02_round_trip() -> None:
    lon, lat = 117.87, 36.80
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert abs(glon - lon) > 1e-4  # the offset is real: hundreds of metres
    back = gcj02_to_wgs84(glon, glat)
    assert abs(back[0] - lon) < 1e-7
    assert abs(back[1] - lat) < 1e-7


DECISION = """
code = "ZB-2022-03-23"
city = "淄博市"
title = "关于有序恢复正常生产生活秩序的决定"
issuer = "淄博市疫情防控指挥部办公室"
effective_at = 2022-03-23T00:00:00+08:00

[[cell]]
region = "city"
categories = ["*"]
verdict = "conditional"
capacity_share = 0.75
temperature = true
code_check = true
mask = true

[[cell]]
region = "city"
categories = ["cinema", "ktv", "gym"]
verdict = "closed"

[[cell]]
region = "city"
zones = "inside"
verdict = "closed"

[[cell]]
region = "周村区"
verdict = "closed"
"""


def test_reopening_queries(session: Session) -> None:
    for code, category, district in (
        ("V1", "supermarket", "张店区"),
        ("V2", "cinema", "张店区"),
        ("V3", "supermarket", "周村区"),
    ):
        people_venues.create_venue(
            session,
            data=VenueCreate.model_validate(
                {"venue_code": code, "name": code, "category": category, "district": district}
            ),
            scope=CITY,
        )
    at = datetime(2022, 3, 23, 2, 0, tzinfo=UTC)
    before = reopening.venue_may_open(session, "V2", at)
    assert before.allowed
    assert before.rule == "reopening:none"
    reopening.import_decision(session, text=DECISION, now=NOW, by="t")
    ok = service.venue_may_open(session, "V1", at)
    assert ok.allowed
    assert ok.conditions == ("限流75%", "测温", "验码", "戴口罩")
    assert not service.venue_may_open(session, "V2", at).allowed
    assert not service.venue_may_open(session, "V3", at).allowed
    earlier = datetime(2022, 3, 22, 15, 0, tzinfo=UTC)  # 23:00 local on the 22nd
    assert service.venue_may_open(session, "V2", earlier).allowed
    with pytest.raises(FangkongError, match="cell 1"):
        reopening.import_decision(
            session,
            text=DECISION.replace('code = "ZB-2022-03-23"', 'code = "X"').replace(
                'verdict = "conditional"', 'verdict = "maybe"'
            ),
            now=NOW,
            by="t",
        )
