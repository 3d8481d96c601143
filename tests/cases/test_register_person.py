"""The register form links every case entered by hand to a registry person: picked from
the caller's area, found by its ID number, or created; then the case can be traced."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.config import Settings
from fangkong.lake.layout import lake_root
from fangkong.people import service as people_service
from fangkong.people.identity import check_character
from fangkong.storage.db import session_factory
from tests.conftest import NOW
from tests.tracing.helpers import MARCH_8, local, person, stay, venue, workplace, write_scans

Clients = Callable[[str], TestClient]
FIRST17 = "37030619850315001"
ID_NUMBER = FIRST17 + check_character(FIRST17)
FORM = {
    "case_no": "ZB-101",
    "classification": "confirmed",
    "origin": "local",
    "district": "370306",
    "onset_on": "2022-03-08",
    "reported_on": "2022-03-09",
}


def seed_city(engine: Engine, settings: Settings) -> None:
    """周村区: C1 (ID number known) lives with H1, works with U1 and shops at V1 with A."""
    lake = lake_root(settings.home)
    with session_factory(engine)() as s, s.begin():
        workplace(s, "W1", ["车间"])
        person(s, "C1", household="HH1", workplace="W1", unit="车间")
        person(s, "H1", household="HH1")
        person(s, "U1", workplace="W1", unit="车间")
        person(s, "A", name="李小四")
        venue(s, "V1")
        found = people_service.get_person(s, person_no="C1", scope=bind("city", "3703"))
        found.id_number = ID_NUMBER
    write_scans(
        lake,
        [stay("C1", "V1", local(MARCH_8, 10), 60), stay("A", "V1", local(MARCH_8, 10, 30), 60)],
    )


@pytest.fixture
def city(app: object, engine: Engine, settings: Settings) -> None:
    seed_city(engine, settings)


@pytest.fixture
def zhangdian_cdc(app: FastAPI, engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """An epidemiologist of 张店区's CDC (writes cases in 张店区 only)."""
    with session_factory(engine)() as s, s.begin():
        raw, _ = auth.create_token(
            s,
            name="zhangdian-cdc",
            role_code="cdc",
            scope_kind="district",
            scope_code="370303",
            now=NOW,
            keys=auth.Keys.from_settings(settings),
            created_by="tests",
        )
    with TestClient(app, headers={"Authorization": f"Bearer {raw}"}) as client:
        yield client


def test_the_form_offers_the_area_s_persons_masked(client_as: Clients, city: None) -> None:
    found = client_as("cdc").get("/cases/new/persons", params={"q": ID_NUMBER})
    assert found.status_code == 200
    assert 'data-pick-person="C1"' in found.text
    assert ID_NUMBER not in found.text
    assert "张*三" in found.text
    assert "张小三" not in found.text


def test_a_person_outside_the_area_is_not_offered(zhangdian_cdc: TestClient, city: None) -> None:
    elsewhere = zhangdian_cdc.get("/cases/new/persons", params={"q": ID_NUMBER})
    assert "data-pick-person" not in elsewhere.text
    assert "没有找到" in elsewhere.text


def test_a_picked_person_is_traced(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    created = cdc.post("/cases/new", data={**FORM, "person_no": "C1"}, follow_redirects=False)
    assert created.status_code == 303, created.text
    case = cdc.get("/api/v1/cases/ZB-101").json()
    assert (case["person_no"], case["name"], case["id_number"]) == ("C1", "张小三", ID_NUMBER)
    traced = cdc.post("/cases/ZB-101/contacts/trace", follow_redirects=False)
    assert traced.headers["location"].startswith("/cases/ZB-101/contacts?done=traced&added=")
    contacts = cdc.get("/cases/ZB-101/contacts").text
    assert "该病例未关联人员档案" not in contacts
    for no in ("H1", "U1", "A"):
        assert f">{no}<" in contacts


def test_the_id_number_finds_the_person(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    created = cdc.post("/cases/new", data={**FORM, "id_number": ID_NUMBER}, follow_redirects=False)
    assert created.status_code == 303, created.text
    assert cdc.get("/api/v1/cases/ZB-101").json()["person_no"] == "C1"


def test_no_person_is_refused_and_a_new_one_can_be_made(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    refused = cdc.post("/cases/new", data={**FORM, "name": "赵六"})
    assert refused.status_code == 422
    assert "请从人员档案中选择病例本人" in refused.text
    assert cdc.get("/api/v1/cases/ZB-101").status_code == 404
    made = cdc.post(
        "/cases/new",
        data={**FORM, "name": "赵六", "new_person": "1", "phone": "13912345678"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert cdc.get("/api/v1/cases/ZB-101").json()["person_no"] == "P-ZB-101"
    person_page = cdc.get("/people/P-ZB-101").text
    assert "赵六" in person_page
    assert '<a href="/cases/ZB-101">ZB-101</a>' in person_page


def test_a_person_outside_the_area_cannot_be_linked(zhangdian_cdc: TestClient, city: None) -> None:
    officer = zhangdian_cdc
    form = {**FORM, "district": "370303", "person_no": "C1"}
    refused = officer.post("/cases/new", data=form)
    assert refused.status_code == 422
    assert "您的管辖范围内没有人员 C1" in refused.text
    by_id = officer.post("/cases/new", data={**form, "person_no": "", "id_number": ID_NUMBER})
    assert by_id.status_code == 422
    assert "管辖范围以外的人员" in by_id.text
