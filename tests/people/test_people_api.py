"""The registry's HTTP API: masked lists, full details, imports, errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fangkong.people.identity import check_character

FIRST17 = "37030619850315001"
ID_NUMBER = FIRST17 + check_character(FIRST17)
ZHANG: dict[str, Any] = {
    "person_no": "P001",
    "name": "张三丰",
    "id_number": ID_NUMBER,
    "phone": "13853312345",
    "sex": "男",
    "household_no": "H1",
    "district": "周村区",
    "street": "丝绸路街道",
    "community": "新建路社区",
    "compound": "丝绸苑",
    "building": "3号楼",
    "room": "301",
}


def test_create_get_list_masked(client: TestClient) -> None:
    created = client.post("/api/v1/people", json=ZHANG)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["birth_year"], body["sex"], body["unit_name"]) == (1985, "M", "周村区")
    assert body["created_at"].startswith("2022-03-23T12:00")

    detail = client.get("/api/v1/people/P001").json()
    assert (detail["name"], detail["id_number"], detail["phone"], detail["masked"]) == (
        "张三丰",
        ID_NUMBER,
        "13853312345",
        False,
    )

    page = client.get("/api/v1/people", params={"q": "张"}).json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    item = page["items"][0]
    assert item["name"] == "张*丰"
    assert item["id_number"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert item["phone"] == "138****2345"
    assert item["masked"] is True
    assert ID_NUMBER not in client.get("/api/v1/people").text

    by_community = client.get(
        "/api/v1/people", params={"community": "新建路", "district": "周村区"}
    )
    assert by_community.json()["total"] == 1
    assert client.get("/api/v1/people", params={"district": "张店区"}).json()["total"] == 0


def test_errors_are_json_with_codes(client: TestClient) -> None:
    missing = client.get("/api/v1/people/NOPE")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    client.post("/api/v1/people", json=ZHANG)
    again = client.post("/api/v1/people", json=ZHANG)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    bad_id = client.post("/api/v1/people", json={**ZHANG, "person_no": "P2", "id_number": "1" * 18})
    assert (bad_id.status_code, bad_id.json()["code"]) == (422, "validation_error")
    bad_district = client.post(
        "/api/v1/people", json={"person_no": "P3", "name": "李四", "district": "火星区"}
    )
    assert (bad_district.status_code, bad_district.json()["code"]) == (422, "invalid_input")


def test_patch_and_household(client: TestClient) -> None:
    client.post("/api/v1/people", json=ZHANG)
    client.post(
        "/api/v1/people",
        json={"person_no": "P002", "name": "李四", "sex": "F", "household_no": "H1"},
    )
    patched = client.patch("/api/v1/people/P001", json={"phone": "13953398765", "room": "502"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["phone"], patched.json()["building"]) == ("13953398765", "3号楼")
    household = client.get("/api/v1/households/H1").json()
    assert [m["person_no"] for m in household["members"]] == ["P001", "P002"]
    assert household["members"][0]["phone"] == "13953398765"
    assert client.get("/api/v1/households/H9").status_code == 404


def test_venues_and_workplaces(client: TestClient) -> None:
    venue = {
        "venue_code": "V1",
        "name": "银座超市周村店",
        "category": "超市",
        "industry": "retail",
        "district": "370306",
        "capacity": 300,
    }
    created = client.post("/api/v1/venues", json=venue)
    assert created.status_code == 201, created.text
    assert created.json()["category"] == "supermarket"
    assert client.patch("/api/v1/venues/V1", json={"capacity": 100}).json()["capacity"] == 100
    assert client.get("/api/v1/venues/V1").json()["category_label"] == "超市"
    listed = client.get("/api/v1/venues", params={"category": "超市", "district": "周村区"})
    assert [v["venue_code"] for v in listed.json()["items"]] == ["V1"]
    assert client.get("/api/v1/venues", params={"category": "火箭"}).status_code == 422

    workplace = {
        "workplace_no": "W1",
        "name": "某纺织公司",
        "industry": "manufacturing",
        "district": "周村区",
        "units": [{"name": "生产一车间", "kind": "workshop"}, {"name": "办公室"}],
    }
    created = client.post("/api/v1/workplaces", json=workplace)
    assert created.status_code == 201, created.text
    units = client.get("/api/v1/workplaces/W1").json()["units"]
    assert [(u["name"], u["kind"]) for u in units] == [
        ("办公室", "department"),
        ("生产一车间", "workshop"),
    ]
    listed = client.get("/api/v1/workplaces", params={"industry": "制造业"}).json()
    assert listed["total"] == 1


def test_import_endpoints(client: TestClient) -> None:
    workplaces = "单位编号,单位名称,行业,区县,部门\nW1,某公司,制造业,周村区,车间:workshop\n"
    response = client.post(
        "/api/v1/workplaces/import", files={"file": ("w.csv", workplaces.encode(), "text/csv")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1

    people = f"人员编号,姓名,身份证号,单位编号,部门\nP1,张三,{ID_NUMBER},W1,车间\n"
    response = client.post(
        "/api/v1/people/import", files={"file": ("p.csv", people.encode(), "text/csv")}
    )
    assert response.json()["added"] == 1
    response = client.post(
        "/api/v1/people/import", files={"file": ("p.csv", people.encode(), "text/csv")}
    )
    assert (response.json()["added"], response.json()["unchanged"]) == (0, 1)

    venues = "venue_code,name,category,district\nV1,某超市,超市,周村区\n"
    response = client.post(
        "/api/v1/venues/import", files={"file": ("v.csv", venues.encode(), "text/csv")}
    )
    assert response.json()["added"] == 1


def test_rejected_import_is_422_with_every_error(client: TestClient) -> None:
    bad = "person_id,name,phone\nP1,张三,123\nP2,,13853312345\n"
    response = client.post(
        "/api/v1/people/import", files={"file": ("p.csv", bad.encode(), "text/csv")}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "import_rejected"
    assert body["details"]["errors"] == [
        {
            "row": 2,
            "column": "phone",
            "reason": "not an 11-digit mainland mobile number",
            "value": "123",
        },
        {"row": 3, "column": "name", "reason": "Field required", "value": None},
    ]
    assert body["details"]["report"]["rejected"] == 2
    assert client.get("/api/v1/people").json()["total"] == 0
    wrong_type = client.post(
        "/api/v1/venues/import", files={"file": ("v.pdf", b"%PDF", "application/pdf")}
    )
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (422, "invalid_input")


def test_openapi_has_examples(client: TestClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for name in ("PersonCreate", "VenueCreate", "WorkplaceCreate"):
        assert schemas[name]["examples"], name
