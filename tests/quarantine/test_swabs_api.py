"""The tests-during-quarantine API through the real app: a site's round opened by its staff,
swabbed by them through the testing API (single tubes, their site only), resulted, applied
and listed; overdue tests; who may open and read which site."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fangkong.policy import load_policy
from fangkong.quarantine.api import swabs as swabs_api
from fangkong.storage.db import session_factory
from tests.quarantine.site_helpers import ZHANGDIAN, order, resident, site

API = "/api/v1"
Clients = Callable[[str], TestClient]
ZIBO = load_policy("zibo-2022-03")
TODAY = "2022-03-23"  # the app's clock: 20:00 on 23 March, local


@pytest.fixture
def mounted(app: FastAPI) -> FastAPI:
    """The router where main.py mounts it (added here until it is)."""
    if not any(getattr(r, "path", "") == f"{API}/quarantine/tests/overdue" for r in app.routes):
        app.include_router(swabs_api.router, prefix=API)
    return app


@pytest.fixture
def sites(mounted: FastAPI, engine: Engine) -> None:
    """S01 and S02 in 周村区. At S01: PA and PB of 周村, PZ of 张店; at S02: PF. All start on
    23 March under the 淄博 edition: their first test is due that day."""
    with session_factory(engine)() as s, s.begin():
        s01, s02 = site(s, "S01"), site(s, "S02")
        start = date(2022, 3, 23)
        order(s, resident(s, "PA"), s01, start, ZIBO, room=0)
        order(s, resident(s, "PB"), s01, start, ZIBO, room=1)
        order(s, resident(s, "PZ", ZHANGDIAN), s01, start, ZIBO, room=2)
        order(s, resident(s, "PF"), s02, start, ZIBO)


def swab(person: str, size: int = 1, tube: str | None = None) -> dict[str, object]:
    return {
        "person_id": person,
        "tube_barcode": tube or f"T-{person}",
        "tube_size": size,
        "point_code": "S01",
        "sampled_at": f"{TODAY}T08:00:00+08:00",
    }


def people(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["person_no"] for row in response.json()]


def test_a_site_day_through_the_api(client_as: Clients, sites: None) -> None:
    staff, cdc, lab = client_as("site"), client_as("cdc"), client_as("lab")
    opened = staff.post(f"{API}/quarantine/sites/S01/rounds")  # today by default
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert (body["code"], body["day"], body["due"], body["pool_size"]) == (
        "Q-S01-20220323",
        TODAY,
        3,
        1,
    )
    again = staff.post(f"{API}/quarantine/sites/S01/rounds", params={"date": TODAY})
    assert again.json() == body
    code = body["code"]

    # The site's staff swab through the testing API: single tubes, their round only.
    rounds = f"{API}/testing/rounds"
    added = staff.post(f"{rounds}/{code}/samples", json={"samples": [swab("PA"), swab("PB")]})
    assert added.status_code == 200, added.text
    assert added.json()["added"] == 2
    pooled = staff.post(f"{rounds}/{code}/samples", json={"samples": [swab("PZ", 5, "POOL")]})
    assert pooled.status_code == 422
    assert pooled.json()["code"] == "import_rejected"
    assert "tube size not allowed: use one of 1" in pooled.text
    other = cdc.post(f"{API}/quarantine/sites/S02/rounds").json()["code"]
    assert (
        staff.post(f"{rounds}/{other}/samples", json={"samples": [swab("PF")]}).status_code == 404
    )
    assert staff.get(f"{rounds}/{code}").status_code == 403  # swabbing is not reading rounds

    results = {
        "results": [
            {
                "tube_barcode": t,
                "result": r,
                "lab": "淄博市疾控中心",
                "resulted_at": f"{TODAY}T16:00:00+08:00",
            }
            for t, r in (("T-PA", "negative"), ("T-PB", "invalid"))
        ]
    }
    assert lab.post(f"{rounds}/{code}/results", json=results).status_code == 200
    applied = cdc.post(f"{rounds}/{code}/apply")
    assert applied.status_code == 200, applied.text

    listed = staff.get(f"{API}/quarantine/sites/S01/tests", params={"date": TODAY})
    assert people(listed) == ["PA", "PB", "PZ"]
    rows = {r["person_no"]: r for r in listed.json()}
    assert (rows["PA"]["state"], rows["PA"]["state_label"]) == ("negative", "阴性")
    assert rows["PA"]["resulted_at"].startswith("2022-03-23T08:00:00")  # UTC
    assert (rows["PB"]["state"], rows["PZ"]["state"]) == ("invalid", "due")
    assert (rows["PA"]["round_code"], rows["PA"]["number"], rows["PA"]["name"]) == (
        code,
        1,
        "孙*七",
    )
    assert not any(r["overdue"] for r in rows.values())  # the day is not over

    # The testing pages show a site's round like any other.
    page = cdc.get(f"/testing/rounds/{code}")
    assert page.status_code == 200, page.text
    assert "隔离点核酸检测" in page.text
    assert code in cdc.get("/testing").text

    overdue = staff.get(f"{API}/quarantine/tests/overdue", params={"date": "2022-03-24"})
    assert people(overdue) == ["PB", "PZ"]
    assert people(cdc.get(f"{API}/quarantine/tests/overdue", params={"date": "2022-03-24"})) == [
        "PB",
        "PZ",
        "PF",
    ]


def test_who_may_open_and_read_which_site(
    client_as: Clients, anon: TestClient, sites: None
) -> None:
    paths = [
        ("post", f"{API}/quarantine/sites/S01/rounds"),
        ("get", f"{API}/quarantine/sites/S01/tests"),
        ("get", f"{API}/quarantine/tests/overdue"),
    ]
    for method, path in paths:
        refused = anon.request(method, path)
        assert refused.status_code == 401, path
        assert refused.json()["code"] == "unauthenticated"
        assert client_as("lab").request(method, path).json()["code"] == "forbidden"

    staff, zhangdian, zhoucun = client_as("site"), client_as("zhangdian"), client_as("zhoucun")
    # Another site is not there for a site's staff.
    for method, path in (("post", "rounds"), ("get", "tests")):
        hidden = staff.request(method, f"{API}/quarantine/sites/S02/{path}")
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not_found"
    assert people(staff.get(f"{API}/quarantine/tests/overdue", params={"date": "2022-03-24"})) == [
        "PA",
        "PB",
        "PZ",
    ]
    # Sites are seen city-wide, people by their home area; a round is opened by the
    # site's district.
    assert people(zhangdian.get(f"{API}/quarantine/sites/S01/tests")) == ["PZ"]
    assert people(zhoucun.get(f"{API}/quarantine/sites/S01/tests")) == ["PA", "PB"]
    assert people(
        zhangdian.get(f"{API}/quarantine/tests/overdue", params={"date": "2022-03-24"})
    ) == ["PZ"]
    refused = zhangdian.post(f"{API}/quarantine/sites/S01/rounds")
    assert refused.status_code == 403
    assert refused.json()["code"] == "outside_jurisdiction"
    assert zhoucun.post(f"{API}/quarantine/sites/S01/rounds").status_code == 200
    # A community worker reads sites but plans nothing.
    worker = client_as("worker").post(f"{API}/quarantine/sites/S02/rounds")
    assert worker.status_code == 403
    assert worker.json()["details"] == {"permission": "quarantine.plan"}


def test_errors_are_json_with_a_stable_code(client_as: Clients, sites: None) -> None:
    cdc = client_as("cdc")
    unknown = cdc.get(f"{API}/quarantine/sites/NOPE/tests")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    bad_day = cdc.get(f"{API}/quarantine/sites/S01/tests", params={"date": "23/03/2022"})
    assert (bad_day.status_code, bad_day.json()["code"]) == (422, "validation_error")
    nobody = cdc.post(f"{API}/quarantine/sites/S01/rounds", params={"date": "2022-03-24"})
    assert (nobody.status_code, nobody.json()["code"]) == (422, "nothing_due")
