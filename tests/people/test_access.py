"""Who may see and do what in the registry: permissions per route, jurisdiction in the
service layer, masking, and the audit of personal-data reads, exports and imports."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.auth.models import AuditEvent
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.config import Settings
from fangkong.errors import ImportRejected, NotFound
from fangkong.people import access, service, venues
from fangkong.people import api as people_api
from fangkong.people.identity import check_character
from fangkong.people.importer import import_people
from fangkong.people.models import Community
from fangkong.people.schemas import PersonCreate, VenueCreate
from fangkong.storage.db import session_factory
from tests.conftest import NOW

Client = Callable[[str], TestClient]


def idn(first17: str) -> str:
    return first17 + check_character(first17)


ZC1_ID, ZC2_ID, ZD1_ID = (
    idn("37030619850315001"),
    idn("37030619900101002"),
    idn("37030319800202003"),
)
PERSONS: list[dict[str, Any]] = [
    {
        "person_no": "ZC1",
        "name": "张三丰",
        "id_number": ZC1_ID,
        "phone": "13853312345",
        "household_no": "H1",
        "district": "周村区",
        "street": "丝绸路街道",
        "community": "新建路社区",
        "compound": "丝绸苑",
        "building": "3号楼",
        "room": "301",
    },
    {
        "person_no": "ZC2",
        "name": "李四海",
        "id_number": ZC2_ID,
        "phone": "13953398765",
        "household_no": "H1",
        "district": "周村区",
        "street": "萌水镇",  # 文昌湖区, still 周村区
    },
    {
        "person_no": "ZD1",
        "name": "王五行",
        "id_number": ZD1_ID,
        "phone": "13153300001",
        "household_no": "H2",
        "district": "张店区",
        "street": "车站街道",
        "community": "华光路社区",
        "compound": "华光小区",
        "building": "7号楼",
        "room": "702",
    },
]


def place(code_field: str, code: str, name: str, kind: str, district: str, street: str) -> Any:
    """A venue (``kind`` its category) or a workplace (``kind`` its industry)."""
    kind_field = "category" if code_field == "venue_code" else "industry"
    return {
        code_field: code,
        "name": name,
        kind_field: kind,
        "district": district,
        "street": street,
    }


VENUES = [
    place("venue_code", "VZC1", "丝绸路超市", "超市", "周村区", "丝绸路街道"),
    place("venue_code", "VZC2", "萌水健身", "gym", "周村区", "萌水镇"),
    place("venue_code", "VZD1", "车站超市", "超市", "张店区", "车站街道"),
]
WORKPLACES = [
    place("workplace_no", "WZC1", "某纺织公司", "制造业", "周村区", "丝绸路街道"),
    place("workplace_no", "WZD1", "某物流公司", "transport_logistics", "张店区", "车站街道"),
]
FULL = (ZC1_ID, ZC2_ID, ZD1_ID, "13853312345", "13953398765", "张三丰", "李四海", "王五行")

# persona -> (persons, venues, workplaces) visible
VISIBLE: dict[str, tuple[set[str], set[str], set[str]]] = {
    "hq": ({"ZC1", "ZC2", "ZD1"}, {"VZC1", "VZC2", "VZD1"}, {"WZC1", "WZD1"}),
    "cdc": ({"ZC1", "ZC2", "ZD1"}, {"VZC1", "VZC2", "VZD1"}, {"WZC1", "WZD1"}),
    "zhoucun": ({"ZC1", "ZC2"}, {"VZC1", "VZC2"}, {"WZC1"}),
    "zhangdian": ({"ZD1"}, {"VZD1"}, {"WZD1"}),
    "worker": ({"ZC1"}, {"VZC1"}, {"WZC1"}),
    "site": (set(), set(), set()),
}


def seed(cdc: TestClient) -> None:
    for path, items in (
        ("/api/v1/people", PERSONS),
        ("/api/v1/venues", VENUES),
        ("/api/v1/workplaces", WORKPLACES),
    ):
        for item in items:
            r = cdc.post(path, json=item)
            assert r.status_code == 201, r.text


def audit_entries(engine: Engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def masked_reader(engine: Engine, settings: Settings) -> str:
    """A city-wide token that reads the registry but not unmasked personal data."""
    with session_factory(engine)() as s, s.begin():
        raw, _ = auth.create_token(
            s,
            name="reader",
            role_code="cdc",
            scope_kind="city",
            scope_code="3703",
            now=NOW,
            keys=auth.Keys.from_settings(settings),
            created_by="tests",
            permissions={"person.read"},
        )
    return raw


def upload(c: TestClient, path: str, text: str, name: str = "f.csv") -> Any:
    return c.post(path, files={"file": (name, text.encode(), "text/csv")})


# ---------------------------------------------------------------- permissions

# Every route of the registry API, with a sample request.
ROUTES = [
    ("GET", "/api/v1/people"),
    ("GET", "/api/v1/people.csv?reason=checking"),
    ("POST", "/api/v1/people"),
    ("POST", "/api/v1/people/import"),
    ("GET", "/api/v1/people/ZC1"),
    ("PATCH", "/api/v1/people/ZC1"),
    ("GET", "/api/v1/households/H1"),
    ("GET", "/api/v1/venues"),
    ("POST", "/api/v1/venues"),
    ("POST", "/api/v1/venues/import"),
    ("GET", "/api/v1/venues/VZC1"),
    ("PATCH", "/api/v1/venues/VZC1"),
    ("GET", "/api/v1/workplaces"),
    ("POST", "/api/v1/workplaces"),
    ("POST", "/api/v1/workplaces/import"),
    ("GET", "/api/v1/workplaces/WZC1"),
]
PAGES = ["/people", "/people/ZC1", "/venues", "/workplaces"]


def test_the_route_list_is_complete() -> None:
    declared = [
        (method, re.sub(r"\{[^}]+\}", "[^/]+", "/api/v1" + r.path))
        for r in people_api.router.routes
        if isinstance(r, APIRoute)
        for method in r.methods or ()
    ]
    assert len(declared) == len(ROUTES)
    for method, pattern in declared:
        assert any(m == method and re.fullmatch(pattern, p.split("?")[0]) for m, p in ROUTES), (
            method,
            pattern,
        )


def test_anonymous_is_refused(anon: TestClient) -> None:
    for method, path in ROUTES:
        r = anon.request(method, path)
        assert (r.status_code, r.json()["code"]) == (401, "unauthenticated"), (method, path)
    for path in PAGES:
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next="), path


@pytest.mark.parametrize("persona", ["lab", "venue", "admin"])
def test_roles_without_the_registry_are_refused(persona: str, client_as: Client) -> None:
    c = client_as(persona)
    for method, path in ROUTES:
        r = c.request(method, path)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (method, path)
    for path in PAGES:
        assert c.get(path).status_code == 403, path


def test_site_staff_read_nothing_and_write_nothing(client_as: Client) -> None:
    seed(client_as("cdc"))
    site = client_as("site")
    for method, path in ROUTES:
        r = site.request(method, path)
        if method == "GET" and path.endswith(("people", "venues", "workplaces")):
            assert (r.status_code, r.json()["total"]) == (200, 0), path
        elif method == "GET" and "people.csv" not in path:
            assert r.status_code == 404, path
        else:
            assert r.status_code == 403, (method, path)


# ---------------------------------------------------------------- jurisdiction


@pytest.mark.parametrize("persona", list(VISIBLE))
def test_each_sees_only_their_jurisdiction(persona: str, client_as: Client) -> None:
    seed(client_as("cdc"))
    c = client_as(persona)
    persons, venues, workplaces = VISIBLE[persona]
    for path, key, visible, everything in (
        ("people", "person_no", persons, VISIBLE["cdc"][0]),
        ("venues", "venue_code", venues, VISIBLE["cdc"][1]),
        ("workplaces", "workplace_no", workplaces, VISIBLE["cdc"][2]),
    ):
        page = c.get(f"/api/v1/{path}").json()
        assert {item[key] for item in page["items"]} == visible, path
        assert page["total"] == len(visible)
        for no in everything:
            r = c.get(f"/api/v1/{path}/{no}")
            assert r.status_code == (200 if no in visible else 404), (path, no)
            if r.status_code == 404:  # exactly as a record that does not exist
                assert r.json()["code"] == "not_found"
                assert all(v not in r.text for v in FULL)
        # a filter naming another area does not get around the jurisdiction
        hidden = c.get(f"/api/v1/{path}", params={"q": "Z", "district": "张店区"}).json()
        assert {item[key] for item in hidden["items"]} <= visible


def test_a_household_shows_only_members_in_the_jurisdiction(client_as: Client) -> None:
    seed(client_as("cdc"))
    members = {
        persona: [
            m["person_no"]
            for m in client_as(persona).get("/api/v1/households/H1").json()["members"]
        ]
        for persona in ("cdc", "zhoucun", "worker")
    }
    assert members == {"cdc": ["ZC1", "ZC2"], "zhoucun": ["ZC1", "ZC2"], "worker": ["ZC1"]}
    assert client_as("zhangdian").get("/api/v1/households/H1").status_code == 404
    assert client_as("zhoucun").get("/api/v1/households/H2").status_code == 404
    assert (
        client_as("worker").get("/api/v1/people", params={"household": "H1"}).json()["total"] == 1
    )


def test_pages_follow_the_jurisdiction(client_as: Client) -> None:
    seed(client_as("cdc"))
    zhangdian = client_as("zhangdian")
    page = zhangdian.get("/people").text
    assert "ZD1" in page
    assert "ZC1" not in page
    assert zhangdian.get("/people/ZC1").status_code == 404
    assert "丝绸路超市" not in zhangdian.get("/venues").text
    assert "某纺织公司" not in zhangdian.get("/workplaces").text
    assert "车站超市" in zhangdian.get("/venues").text


def test_writing_outside_the_jurisdiction_is_refused(client_as: Client) -> None:
    seed(client_as("cdc"))
    zhangdian, worker = client_as("zhangdian"), client_as("worker")
    elsewhere = {"person_no": "N1", "name": "赵六", "district": "周村区"}
    r = zhangdian.post("/api/v1/people", json=elsewhere)
    assert (r.status_code, r.json()["code"]) == (403, "outside_jurisdiction")
    assert zhangdian.post("/api/v1/people", json={**elsewhere, "district": "张店区"}).is_success
    # no address: a person only the city sees
    r = zhangdian.post("/api/v1/people", json={"person_no": "N2", "name": "孙七"})
    assert r.status_code == 403
    moved = zhangdian.patch("/api/v1/people/ZD1", json={"district": "周村区"})
    assert (moved.status_code, moved.json()["code"]) == (403, "outside_jurisdiction")
    assert zhangdian.patch("/api/v1/people/ZC1", json={"phone": "13800000000"}).status_code == 404
    # a street's worker: other streets of the same district are outside
    r = worker.post(
        "/api/v1/people",
        json={"person_no": "N3", "name": "周八", "district": "周村区", "street": "大街街道"},
    )
    assert (r.status_code, r.json()["code"]) == (403, "outside_jurisdiction")
    venue = {"venue_code": "VN", "name": "某店", "category": "超市", "district": "周村区"}
    assert zhangdian.post("/api/v1/venues", json=venue).status_code == 403
    assert zhangdian.patch("/api/v1/venues/VZC1", json={"capacity": 1}).status_code == 404
    assert zhangdian.patch("/api/v1/venues/VZD1", json={"district": "周村区"}).status_code == 403
    workplace = {"workplace_no": "WN", "name": "某厂", "industry": "制造业", "district": "周村区"}
    assert zhangdian.post("/api/v1/workplaces", json=workplace).status_code == 403
    assert client_as("cdc").get("/api/v1/people/ZD1").json()["district_name"] == "张店区"


def test_an_import_row_outside_the_jurisdiction_is_a_row_error(
    client_as: Client, engine: Engine
) -> None:
    seed(client_as("cdc"))
    zhangdian = client_as("zhangdian")
    text = "人员编号,姓名,区县,街道\nN1,赵六,张店区,车站街道\nN2,孙七,周村区,丝绸路街道\n"
    r = upload(zhangdian, "/api/v1/people/import", text)
    assert (r.status_code, r.json()["code"]) == (422, "import_rejected")
    [error] = r.json()["details"]["errors"]
    assert (error["row"], error["column"], error["value"]) == (3, "district", "周村区")
    assert error["reason"].startswith("outside your jurisdiction")
    # updating a person registered elsewhere is refused too, whatever the row says
    r = upload(zhangdian, "/api/v1/people/import", "人员编号,姓名,区县\nZC1,张三丰,张店区\n")
    [error] = r.json()["details"]["errors"]
    assert (error["column"], error["value"]) == ("person_id", "ZC1")
    venues = "场所码,场所名称,类别,区县\nVN,某店,超市,周村区\nVZC1,丝绸路超市,超市,张店区\n"
    errors = upload(zhangdian, "/api/v1/venues/import", venues).json()["details"]["errors"]
    assert {(e["row"], e["column"]) for e in errors} == {(2, "district"), (3, "venue_code")}
    workplaces = "单位编号,单位名称,行业,区县\nWN,某厂,制造业,周村区\n"
    errors = upload(zhangdian, "/api/v1/workplaces/import", workplaces).json()["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "district")]
    assert client_as("cdc").get("/api/v1/people", params={"q": "N"}).json()["total"] == 0
    assert len(audit_entries(engine, "import")) == 4


def test_an_id_number_held_elsewhere_is_not_attributed(client_as: Client) -> None:
    seed(client_as("cdc"))
    r = client_as("zhangdian").post(
        "/api/v1/people",
        json={"person_no": "N1", "name": "赵六", "id_number": ZC1_ID, "district": "张店区"},
    )
    assert r.status_code == 409
    assert "ZC1" not in r.text
    assert "outside your jurisdiction" in r.json()["message"]


# ---------------------------------------------------------------- personal data


def test_lists_are_masked_for_everyone(client_as: Client) -> None:
    seed(client_as("cdc"))
    for persona in ("hq", "cdc", "zhoucun", "zhangdian", "worker"):
        c = client_as(persona)
        for text in (c.get("/api/v1/people").text, c.get("/people").text):
            assert not [v for v in FULL if v in text], persona
            assert "3号楼" not in text, persona
            assert "7号楼" not in text, persona
        items = c.get("/api/v1/people").json()["items"]
        assert all(i["masked"] and i["building"] is None and i["room"] is None for i in items)
    zc1 = client_as("cdc").get("/api/v1/people", params={"person_no": "ZC1"}).json()["items"][0]
    assert (zc1["name"], zc1["id_number"], zc1["phone"]) == (
        "张*丰",
        ZC1_ID[:6] + "********" + ZC1_ID[-4:],
        "138****2345",
    )


def test_a_full_detail_is_audited_with_its_fields(client_as: Client, engine: Engine) -> None:
    seed(client_as("cdc"))
    # the answer to a create shows the record in full, so it is a read too
    assert [e.entity_id for e in audit_entries(engine, "read_pii")] == ["ZC1", "ZC2", "ZD1"]
    detail = client_as("cdc").get("/api/v1/people/ZC1").json()
    assert (detail["name"], detail["id_number"], detail["room"], detail["masked"]) == (
        "张三丰",
        ZC1_ID,
        "301",
        False,
    )
    entry = audit_entries(engine, "read_pii")[-1]
    assert (entry.actor, entry.role, entry.entity_type, entry.entity_id) == (
        "token:cdc-token",
        "cdc",
        "person",
        "ZC1",
    )
    assert entry.fields == "name,id_number,phone,building,room"

    client_as("zhoucun").get("/api/v1/households/H1")
    entries = audit_entries(engine, "read_pii")[4:]
    assert [(e.actor, e.entity_id, e.fields) for e in entries] == [
        ("token:zhoucun-token", "ZC1", "name,id_number,phone,building,room"),
        ("token:zhoucun-token", "ZC2", "name,id_number,phone"),
    ]
    page = client_as("worker").get("/people/ZC1")
    assert ZC1_ID in page.text
    assert "13853312345" in page.text
    assert audit_entries(engine, "read_pii")[-1].actor == "token:worker-token"
    assert len(audit_entries(engine, "read_pii")) == 7


def test_without_the_pii_permission_details_are_masked(
    app: FastAPI, client_as: Client, engine: Engine, settings: Settings
) -> None:
    seed(client_as("cdc"))
    seeded = len(audit_entries(engine, "read_pii"))
    reader = TestClient(app, headers={"Authorization": f"Bearer {masked_reader(engine, settings)}"})
    with reader:
        detail = reader.get("/api/v1/people/ZC1").json()
        assert (detail["name"], detail["phone"], detail["masked"]) == ("张*丰", "138****2345", True)
        assert (detail["building"], detail["room"]) == (None, None)
        household = reader.get("/api/v1/households/H1").text
        page = reader.get("/people/ZC1").text
        assert not [v for v in FULL if v in household + page]
        assert "3号楼" not in household + page
        assert reader.post("/api/v1/people", json={"person_no": "N", "name": "赵"}).status_code == (
            403
        )
    assert len(audit_entries(engine, "read_pii")) == seeded


def test_the_hotline_looks_people_up_masked_and_changes_nothing(client_as: Client) -> None:
    """12345 operators answer callers: they find a person, masked, and write nothing."""
    seed(client_as("cdc"))
    hotline = client_as("hotline")
    detail = hotline.get("/api/v1/people/ZC1").json()
    assert (detail["name"], detail["phone"], detail["masked"]) == ("张*丰", "138****2345", True)
    page = hotline.get("/people/ZC1").text
    assert not [v for v in FULL if v in page]
    for method, path in ROUTES:
        if method != "GET":
            assert hotline.request(method, path).status_code == 403, (method, path)
    assert hotline.get("/api/v1/people.csv?reason=checking").status_code == 403


# ---------------------------------------------------------------- export


def test_export_needs_a_reason_is_masked_and_audited(client_as: Client, engine: Engine) -> None:
    seed(client_as("cdc"))
    cdc = client_as("cdc")
    for params in ({}, {"reason": "x"}, {"reason": "  "}, {"reason": "x" * 501}):
        r = cdc.get("/api/v1/people.csv", params=params)
        assert r.status_code == 422, params
    r = cdc.get(
        "/api/v1/people.csv", params={"reason": "协查3月22日病例密接", "district": "周村区"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("人员编号,姓名,身份证号,手机号")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["ZC1", "ZC2"]
    assert "张*丰" in text
    assert "138****2345" in text
    assert not [v for v in FULL if v in text]
    assert "3号楼" not in text
    assert "301" not in text
    [entry] = audit_entries(engine, "export")
    assert (entry.actor, entry.entity_type, entry.reason) == (
        "token:cdc-token",
        "person",
        "协查3月22日病例密接",
    )
    assert json.loads(entry.detail or "{}") == {"filters": {"district_code": "370306"}, "rows": 2}

    mine = client_as("zhangdian").get("/api/v1/people.csv", params={"reason": "日报核对"})
    assert [line.split(",")[0] for line in mine.text.splitlines()[1:]] == ["ZD1"]
    for persona in ("worker", "site", "admin"):
        r = client_as(persona).get("/api/v1/people.csv", params={"reason": "日报核对"})
        assert r.status_code == 403, persona
    assert len(audit_entries(engine, "export")) == 2


def test_the_export_button_is_for_exporters(client_as: Client) -> None:
    assert 'action="/api/v1/people.csv"' in client_as("zhoucun").get("/people?q=张").text
    form = client_as("zhoucun").get("/people", params={"q": "张"}).text
    assert 'name="q" value="张"' in form
    assert 'name="reason"' in form
    assert "/api/v1/people.csv" not in client_as("worker").get("/people").text


# ---------------------------------------------------------------- imports


def test_imports_are_audited(client_as: Client, engine: Engine) -> None:
    cdc = client_as("cdc")
    ok = upload(cdc, "/api/v1/people/import", "person_id,name\nP1,张三\nP2,李四\n", "ok.csv")
    assert ok.status_code == 200
    upload(cdc, "/api/v1/people/import", "person_id,name\nP1,张三\nP2,李四五\n", "ok.csv")
    bad = upload(cdc, "/api/v1/people/import", "person_id,name,phone\nP3,王,123\n", "bad.csv")
    assert bad.status_code == 422
    upload(cdc, "/api/v1/venues/import", "场所码,场所名称,类别,区县\nV1,某店,超市,周村区\n")
    upload(cdc, "/api/v1/workplaces/import", "单位编号,单位名称,行业,区县\nW1,某厂,制造业,周村区\n")
    entries = audit_entries(engine, "import")
    assert [
        (e.entity_type, e.entity_id, e.outcome, json.loads(e.detail or "{}")) for e in entries
    ] == [
        ("person", "ok.csv", "ok", {"added": 2, "updated": 0, "unchanged": 0}),
        ("person", "ok.csv", "ok", {"added": 0, "updated": 1, "unchanged": 1}),
        ("person", "bad.csv", "rejected", {"rejected": 1}),
        ("venue", "f.csv", "ok", {"added": 1, "updated": 0, "unchanged": 0}),
        ("workplace", "f.csv", "ok", {"added": 1, "updated": 0, "unchanged": 0}),
    ]
    assert {e.actor for e in entries} == {"token:cdc-token"}
    assert cdc.get("/api/v1/people").json()["total"] == 2  # the rejected file wrote nothing


# ---------------------------------------------------------------- the service layer

# person -> (district, street, community)
PLACES: dict[str, tuple[str | None, str | None, str | None]] = {
    "A": ("周村区", "丝绸路街道", "新建路社区"),
    "B": ("周村区", "丝绸路街道", "东门社区"),
    "C": ("周村区", "萌水镇", None),  # 文昌湖区
    "D": ("周村区", None, None),
    "E": ("张店区", "车站街道", None),
    "F": (None, None, None),
}
CITY = bind("city", "3703")


def _seed_places(session: Session) -> int:
    for no, (district, street, community) in PLACES.items():
        data = PersonCreate(
            person_no=no, name="某人", district=district, street=street, community=community
        )
        service.create_person(session, data=data, now=NOW, scope=CITY)
    community_id = session.scalar(select(Community.id).where(Community.name == "新建路社区"))
    assert community_id is not None
    return community_id


def test_each_binding_becomes_its_sql(session: Session) -> None:
    community_id = _seed_places(session)
    expected: list[tuple[Jurisdiction, str]] = [
        (CITY, "ABCDEF"),
        (bind("district", "370306"), "ABCD"),
        (bind("unit", "370306"), "ABD"),  # 周村区 without 文昌湖区's streets
        (bind("unit", "3703-wch"), "C"),
        (bind("street", "370306001"), "AB"),
        (bind("community", str(community_id), community_street="370306001"), "A"),
        (bind("site", "S01"), ""),
        (bind("lab", "L01"), ""),
    ]
    everyone = service.persons_by_no(session, PLACES)
    for scope, want in expected:
        items, total = service.list_persons(session, flt=service.PersonFilter(), scope=scope)
        assert "".join(p.person_no for p in items) == want, scope
        assert total == len(want)
        # the Python check used for writes agrees with the SQL used for reads
        twin = "".join(no for no, p in everyone.items() if access.person_visible(scope, p))
        assert twin == want, scope
        for no in "ABCDEF":
            if no not in want:
                with pytest.raises(NotFound):
                    service.get_person(session, person_no=no, scope=scope)


def test_a_community_worker_sees_the_venues_of_the_street(session: Session) -> None:
    community_id = _seed_places(session)
    for code, street in (("V1", "丝绸路街道"), ("V2", "大街街道")):
        venues.create_venue(
            session,
            data=VenueCreate(
                venue_code=code, name="某店", category="超市", district="周村区", street=street
            ),
            scope=CITY,
        )
    scope = bind("community", str(community_id), community_street="370306001")
    items, _ = venues.list_venues(session, flt=venues.VenueFilter(), scope=scope)
    assert [v.venue_code for v in items] == ["V1"]
    with pytest.raises(OutsideJurisdiction):
        venues.create_venue(
            session,
            data=VenueCreate(venue_code="V3", name="某店", category="超市", district="周村区"),
            scope=scope,
        )


def test_an_import_row_in_another_street_names_the_street(session: Session) -> None:
    data = "人员编号,姓名,区县,街道\nN1,赵六,周村区,丝绸路街道\nN2,孙七,周村区,大街街道\n"
    with pytest.raises(ImportRejected) as caught:
        import_people(
            session,
            data=data.encode(),
            filename="p.csv",
            now=NOW,
            scope=bind("street", "丝绸路街道"),
        )
    [error] = caught.value.details["errors"]
    assert (error["row"], error["column"], error["value"]) == (3, "street", "大街街道")
    assert error["reason"] == "outside your jurisdiction (丝绸路街道)"
