"""Zones set off by a registered positive (proposals only, never in force), the masked and
the audited full resident list of a zone, its places, and the status of venues,
workplaces and addresses — each with its permission and jurisdiction."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from fangkong.auth.models import AuditEvent
from fangkong.people import venues as people_venues
from fangkong.people.schemas import VenueCreate
from fangkong.storage.db import session_factory
from tests.quarantine import factories
from tests.quarantine.factories import CITY, DAY


def seed(engine: Engine) -> None:
    with session_factory(engine)() as s, s.begin():
        factories.resident(s, "P1", name="王小明", phone="13853312345")
        factories.resident(s, "P2", name="李四", building="2号楼", phone="13953300000")
        people_venues.create_venue(
            s,
            data=VenueCreate.model_validate(
                {
                    "venue_code": "V9",
                    "name": "周村大集",
                    "category": "超市",
                    "district": "周村区",
                    "street": "丝绸路街道",
                }
            ),
            scope=CITY,
        )


def register(client: TestClient) -> None:
    made = client.post(
        "/api/v1/cases",
        json={
            "case_no": "C1",
            "person_no": "P1",
            "classification": "asymptomatic",
            "district": "周村区",
            "reported_on": DAY.isoformat(),
            "sampled_on": DAY.isoformat(),
        },
    )
    assert made.status_code == 201, made.text


def test_a_registered_positive_proposes_zones_for_the_hq(
    engine: Engine, client_as: Callable[[str], TestClient]
) -> None:
    seed(engine)
    hq = client_as("hq")
    register(hq)
    zones = hq.get("/api/v1/zones").json()
    # the 9th edition (the default): the compound high, the community medium, the district low
    assert [(z["level"], z["status"]) for z in zones] == [
        ("high", "proposed"),
        ("medium", "proposed"),
        ("low", "proposed"),
    ]
    assert all(z["case_nos"] == ["C1"] for z in zones)
    # nothing is in force until the HQ confirms
    assert hq.get("/api/v1/zones/status/persons", params={"ids": [1, 2]}).json() == {}
    assert hq.get("/api/v1/zones", params={"day": DAY.isoformat()}).json() == []


def confirmed(engine: Engine, hq: TestClient) -> str:
    seed(engine)
    register(hq)
    codes = [z["code"] for z in hq.get("/api/v1/zones").json()]
    for code in codes:
        ok = hq.post(
            f"/api/v1/zones/{code}/confirm", json={"effective_at": "2022-03-16T10:00:00+08:00"}
        )
        assert ok.status_code == 200, ok.text
    return codes[0]


def test_residents_masked_and_full_audited(
    engine: Engine, client_as: Callable[[str], TestClient]
) -> None:
    hq = client_as("hq")
    sealed = confirmed(engine, hq)
    masked = hq.get(f"/api/v1/zones/{sealed}/residents")
    assert masked.status_code == 200, masked.text
    body = masked.json()
    assert (body["total"], body["full"]) == (2, False)
    first = body["rows"][0]
    assert first["person_no"] == "P1"
    assert first["name"] == "王*明"
    assert first["phone"] == "138****2345"
    assert first["address"] == "新建路社区丝绸苑小区"  # no building, no room
    with session_factory(engine)() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "read_pii")).all() == []
    full = hq.get(f"/api/v1/zones/{sealed}/residents", params={"full": "true"}).json()
    assert full["rows"][0]["name"] == "王小明"
    assert full["rows"][0]["address"] == "新建路社区丝绸苑小区1号楼101"
    with session_factory(engine)() as s:
        read = s.scalars(select(AuditEvent).where(AuditEvent.action == "read_pii")).one()
        assert (read.entity_type, read.entity_id) == ("risk_zone_residents", sealed)
    # the hotline reads zones, not personal data
    hotline = client_as("hotline")
    assert hotline.get(f"/api/v1/zones/{sealed}/residents").status_code == 200
    denied = hotline.get(f"/api/v1/zones/{sealed}/residents", params={"full": "true"})
    assert denied.status_code == 403
    # another district sees neither the zone nor its residents
    assert client_as("zhangdian").get(f"/api/v1/zones/{sealed}/residents").status_code == 404
    assert client_as("lab").get(f"/api/v1/zones/{sealed}/residents").status_code == 403


def test_places_and_status_of_venues_workplaces_addresses(
    engine: Engine, client_as: Callable[[str], TestClient]
) -> None:
    hq = client_as("hq")
    confirmed(engine, hq)
    codes = {z["level"]: z["code"] for z in hq.get("/api/v1/zones").json()}
    places = hq.get(f"/api/v1/zones/{codes['low']}/places").json()
    assert [(p["kind"], p["code"]) for p in places] == [("venue", "V9")]
    assert client_as("zhangdian").get(f"/api/v1/zones/{codes['low']}/places").status_code == 404
    day = {"day": DAY.isoformat()}
    venues = hq.get("/api/v1/zones/status/venues", params={"codes": ["V9", "V0"], **day})
    assert list(venues.json()) == ["V9"]
    v9 = venues.json()["V9"]
    assert (v9["level"], v9["zone_code"], v9["since"]) == ("low", codes["low"], "2022-03-16")
    assert v9["rule"] == "national-9:zones.county"
    assert hq.get("/api/v1/zones/status/workplaces", params={"nos": ["W0"]}).json() == {}
    with session_factory(engine)() as s:
        person = factories.resident(s, "P3", name="赵六", building="3号楼")
        s.commit()
        compound, community = person.compound_id, person.community_id
    found = hq.get(
        "/api/v1/zones/status/address",
        params={"district": "370306", "community_id": community, "compound_id": compound, **day},
    ).json()
    assert (found["in_zone"], found["level"], found["zone_code"]) == (True, "high", codes["high"])
    before = hq.get(
        "/api/v1/zones/status/address", params={"district": "370306", "day": "2022-03-15"}
    )
    assert before.json() == {"in_zone": False}
    bad = hq.get("/api/v1/zones/status/address", params={"district": "周村"})
    assert bad.status_code == 422
    lab = client_as("lab")
    assert lab.get("/api/v1/zones/status/venues", params={"codes": ["V9"]}).status_code == 403
