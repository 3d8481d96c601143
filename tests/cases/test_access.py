"""Who may see and do what in the case registry, its statistics, the bulletin and the
dashboard: permissions per route, jurisdiction in the service's SQL, masking, audit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.auth.principal import Forbidden
from fangkong.cases import service
from fangkong.config import Settings
from fangkong.policy import load_policy
from fangkong.storage.db import session_factory
from tests.conftest import NOW, PASSWORD

API = "/api/v1"
POLICY = load_policy("national-9")
ClientAs = Callable[[str], TestClient]

# 丝绸路街道 and 萌水镇 are both in 周村区; 萌水镇 is reported under the function zone
# 文昌湖区. 车站街道 is in 张店区.
CASES: list[dict[str, Any]] = [
    {"case_no": "ZC-1", "district": "周村区", "street": "丝绸路街道", "name": "张三",
     "id_number": "370306199001011234"},
    {"case_no": "ZC-2", "district": "周村区", "street": "萌水镇", "name": "李小四"},
    {"case_no": "ZC-3", "district": "周村区"},
    {"case_no": "ZD-1", "district": "张店区", "street": "车站街道", "name": "王五",
     "id_number": "370303198502021111"},
]  # fmt: skip
EVERYTHING = {"ZC-1", "ZC-2", "ZC-3", "ZD-1"}


def seed(client: TestClient) -> None:
    for case in CASES:
        body = {"classification": "asymptomatic", "reported_on": "2022-03-21", **case}
        response = client.post(f"{API}/cases", json=body)
        assert response.status_code == 201, response.text


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    if response.headers["content-type"].startswith("text/html"):
        # A page refuses as a page (web/error_pages.py), its code shown for support.
        assert f"代码：{code}" in response.text, response.text
        return {"code": code}
    payload: dict[str, Any] = response.json()
    assert payload["code"] == code, payload
    return payload


def listed(c: TestClient, **params: str) -> set[str]:
    response = c.get(f"{API}/cases", params=params)
    assert response.status_code == 200, response.text
    return {item["case_no"] for item in response.json()["items"]}


def exported(c: TestClient, **params: str) -> list[dict[str, str]]:
    response = c.get(f"{API}/cases.csv", params={"reason": "流调溯源", **params})
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def new_by_unit(c: TestClient) -> dict[str, int]:
    response = c.get(f"{API}/stats/units", params={"day": "2022-03-21"})
    assert response.status_code == 200, response.text
    return {u["unit_name"]: u["new_total"] for u in response.json()}


def audit_entries(c: ClientAs, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = c("admin").get(f"{API}/audit", params=params).json()["items"]
    return items


@pytest.fixture
def token_client(
    app: FastAPI, engine: Engine, settings: Settings
) -> Iterator[Callable[..., TestClient]]:
    """A client with a new API token: ``token_client("cdc", "unit", "文昌湖区")``."""
    opened: list[TestClient] = []

    def make(role: str, kind: str, code: str, permissions: set[str] | None = None) -> TestClient:
        with session_factory(engine)() as s, s.begin():
            raw, _ = auth.create_token(
                s,
                name=f"{role}-{kind}-{code}",
                role_code=role,
                scope_kind=kind,
                scope_code=code,
                now=NOW,
                keys=auth.Keys.from_settings(settings),
                created_by="tests",
                permissions=permissions,
            )
        c = TestClient(app, headers={"Authorization": f"Bearer {raw}"})
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


# ---------------------------------------------------------------- no credentials


API_ROUTES = [
    ("GET", "/cases"),
    ("GET", "/cases.csv?reason=check"),
    ("GET", "/cases/ZC-1"),
    ("POST", "/cases"),
    ("PATCH", "/cases/ZC-1"),
    ("POST", "/cases/ZC-1/convert"),
    ("POST", "/cases/ZC-1/discharge"),
    ("POST", "/cases/import"),
    ("GET", "/stats/daily"),
    ("GET", "/stats/units"),
    ("GET", "/bulletin"),
    ("GET", "/bulletin.docx"),
]
PAGES = [
    ("GET", "/"),
    ("GET", "/cases"),
    ("GET", "/cases/new"),
    ("POST", "/cases/new"),
    ("GET", "/cases/ZC-1"),
    ("POST", "/cases/ZC-1"),
    ("POST", "/cases/ZC-1/convert"),
    ("POST", "/cases/ZC-1/discharge"),
]


def test_anonymous_callers_get_401_or_the_sign_in_page(
    client: TestClient, anon: TestClient
) -> None:
    seed(client)
    for method, path in API_ROUTES:
        refused(anon.request(method, API + path), 401, "unauthenticated")
    for method, path in PAGES:
        response = anon.request(method, path, follow_redirects=False)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/login?next="), (method, path)
    assert listed(client) == EVERYTHING  # nothing was changed on the way


@pytest.mark.parametrize("persona", ["site", "lab", "venue", "hotline", "admin"])
def test_roles_without_cases_read_get_403(
    client: TestClient, client_as: ClientAs, persona: str
) -> None:
    seed(client)
    c = client_as(persona)
    refused(c.get(f"{API}/cases"), 403, "forbidden")
    refused(c.get(f"{API}/cases/ZC-1"), 403, "forbidden")
    refused(c.get(f"{API}/cases.csv", params={"reason": "check"}), 403, "forbidden")
    refused(c.get("/cases"), 403, "forbidden")
    refused(c.get("/cases/ZC-1"), 403, "forbidden")


@pytest.mark.parametrize("kind", ["site", "lab", "venue", "street"])
def test_the_service_cuts_by_binding_not_by_role(
    client: TestClient, session: Session, kind: str
) -> None:
    # Whatever a role allows, a site, lab or venue binding sees no case, and only city,
    # district and unit bindings have figures.
    seed(client)
    scope = bind(kind, "丝绸路街道" if kind == "street" else "X1")
    cases, _ = service.list_cases(session, flt=service.CaseFilter(), scope=scope)
    assert {c.case_no for c in cases} == ({"ZC-1"} if kind == "street" else set())
    with pytest.raises(Forbidden, match="statistics"):
        service.stat_units(scope, city_code="3703")
    with pytest.raises(Forbidden, match="city-wide"):
        service.bulletin_text(
            session, city_code="3703", day=date(2022, 3, 21), since=None, policy=POLICY,
            scope=scope,
        )  # fmt: skip


# ---------------------------------------------------------------- jurisdiction


def test_a_district_officer_sees_only_their_district(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    zd = client_as("zhangdian")
    assert listed(zd) == {"ZD-1"}
    assert listed(zd, q="ZC") == set()
    missing = refused(zd.get(f"{API}/cases/ZC-1"), 404, "not_found")
    unknown = refused(zd.get(f"{API}/cases/NOPE-1"), 404, "not_found")
    assert missing["message"].replace("ZC-1", "X") == unknown["message"].replace("NOPE-1", "X")
    page = zd.get("/cases/ZC-1")
    assert page.status_code == 404
    assert "张三" not in page.text
    assert {row["case_no"] for row in exported(zd)} == {"ZD-1"}
    # Statistics: 张店区 and the function zones it hosts, nothing of 周村区.
    assert new_by_unit(zd) == {"张店区": 1, "高新区": 0, "淄博经开区": 0}
    daily = zd.get(f"{API}/stats/daily", params={"start": "2022-03-21", "end": "2022-03-21"})
    assert [d["new_total"] for d in daily.json()] == [1]
    refused(zd.get(f"{API}/stats/daily", params={"unit": "周村区"}), 403, "forbidden")


def test_the_zhoucun_officer_sees_zhoucun_with_its_function_zone(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    zc = client_as("zhoucun")
    assert listed(zc) == {"ZC-1", "ZC-2", "ZC-3"}
    assert listed(zc, unit="文昌湖区") == {"ZC-2"}
    assert zc.get(f"{API}/cases/ZC-2").json()["unit_name"] == "文昌湖区"
    refused(zc.get(f"{API}/cases/ZD-1"), 404, "not_found")
    assert new_by_unit(zc) == {"周村区": 2, "文昌湖区": 1}
    units = zc.get(f"{API}/stats/daily", params={"unit": "文昌湖区", "start": "2022-03-21"})
    assert [d["new_total"] for d in units.json()] == [1, 0, 0]


def test_a_unit_scoped_user_sees_only_that_unit(
    client: TestClient, token_client: Callable[..., TestClient]
) -> None:
    seed(client)
    wch = token_client("cdc", "unit", "文昌湖区")
    assert listed(wch) == {"ZC-2"}
    refused(wch.get(f"{API}/cases/ZC-1"), 404, "not_found")
    assert new_by_unit(wch) == {"文昌湖区": 1}
    refused(wch.get(f"{API}/stats/daily", params={"unit": "周村区"}), 403, "forbidden")
    # It writes inside its unit only.
    body = {"classification": "asymptomatic", "reported_on": "2022-03-22"}
    inside = wch.post(f"{API}/cases", json={**body, "case_no": "W-1", "district": "周村区",
                                             "street": "萌水镇"})  # fmt: skip
    assert inside.status_code == 201, inside.text
    outside = wch.post(f"{API}/cases", json={**body, "case_no": "W-2", "district": "周村区",
                                              "street": "丝绸路街道"})  # fmt: skip
    refused(outside, 403, "outside_jurisdiction")
    moved = wch.patch(f"{API}/cases/W-1", json={"street": "丝绸路街道", "district": "周村区"})
    refused(moved, 403, "outside_jurisdiction")
    assert client.get(f"{API}/cases/W-1").json()["unit_name"] == "文昌湖区"
    assert listed(client) == EVERYTHING | {"W-1"}


def test_the_community_worker_sees_only_cases_of_their_street(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    worker = client_as("worker")  # 丝绸路街道
    assert listed(worker) == {"ZC-1"}  # not ZC-3, whose street is unknown
    refused(worker.get(f"{API}/cases/ZC-3"), 404, "not_found")
    detail = worker.get(f"{API}/cases/ZC-1").json()
    assert detail["name"] == "张三"  # a community worker may read personal data
    refused(worker.get(f"{API}/stats/units"), 403, "forbidden")
    refused(worker.get(f"{API}/cases.csv", params={"reason": "check"}), 403, "forbidden")
    page = worker.get("/cases/ZC-1")
    assert page.status_code == 200
    assert 'id="edit-form"' not in page.text  # reads, does not write


# ---------------------------------------------------------------- writes


def test_writing_outside_the_jurisdiction_is_403_and_an_import_row_error(
    client: TestClient, token_client: Callable[..., TestClient]
) -> None:
    seed(client)
    zd_cdc = token_client("cdc", "district", "张店区")
    body = {"case_no": "X-1", "district": "周村区", "classification": "confirmed",
            "reported_on": "2022-03-22"}  # fmt: skip
    payload = refused(zd_cdc.post(f"{API}/cases", json=body), 403, "outside_jurisdiction")
    assert "张店区" in payload["message"]
    refused(zd_cdc.patch(f"{API}/cases/ZD-1", json={"district": "周村区"}), 403,
            "outside_jurisdiction")  # fmt: skip
    refused(zd_cdc.patch(f"{API}/cases/ZC-1", json={"notes": "x"}), 404, "not_found")
    refused(zd_cdc.post(f"{API}/cases/ZC-1/convert", json={"on": "2022-03-22"}), 404,
            "not_found")  # fmt: skip
    assert client.get(f"{API}/cases/ZD-1").json()["district_name"] == "张店区"

    rows = (
        "case_no,district,classification,reported_on\n"
        "Y-1,张店区,确诊,2022-03-22\nY-2,周村区,确诊,2022-03-22\nZC-3,张店区,确诊,2022-03-21\n"
    )
    files = {"file": ("mixed.csv", rows.encode(), "text/csv")}
    payload = refused(zd_cdc.post(f"{API}/cases/import", files=files), 422, "import_rejected")
    errors = [(e["row"], e["column"], e["reason"]) for e in payload["details"]["errors"]]
    assert [(row, column) for row, column, _ in errors] == [(3, "district"), (4, "district")]
    assert all(reason.startswith("outside your jurisdiction") for *_, reason in errors)
    assert listed(client) == EVERYTHING  # the whole file was rejected

    page = zd_cdc.post(
        "/cases/new", data={**body, "case_no": "X-2", "new_person": "1", "name": "某人"}
    )
    assert page.status_code == 422
    assert "不在您的管辖范围" in page.text


def test_the_new_case_form_offers_only_districts_of_the_jurisdiction(
    token_client: Callable[..., TestClient],
) -> None:
    html = token_client("cdc", "district", "张店区").get("/cases/new").text
    assert '<option value="370303"' in html
    assert '<option value="370306"' not in html


# ---------------------------------------------------------------- personal data


def test_lists_are_masked_for_everyone(client: TestClient, client_as: ClientAs) -> None:
    seed(client)
    for c in (client, client_as("hq"), client_as("zhoucun"), client_as("worker")):
        items = {i["case_no"]: i for i in c.get(f"{API}/cases").json()["items"]}
        assert items["ZC-1"]["name"] == "张*"
        assert items["ZC-1"]["id_number"] == "370306********1234"
        html = c.get("/cases").text
        assert "张三" not in html
        assert "370306199001011234" not in html
    assert items["ZC-1"]["name"] == "张*"
    assert audit_entries(client_as, action="read_pii") == []


def test_the_detail_is_full_for_cdc_and_the_read_is_audited(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    detail = client.get(f"{API}/cases/ZC-1").json()
    assert (detail["name"], detail["id_number"]) == ("张三", "370306199001011234")
    page = client.get("/cases/ZC-1").text
    assert "370306199001011234" in page
    entries = audit_entries(client_as, action="read_pii")
    assert len(entries) == 2
    assert {e["entity_id"] for e in entries} == {"ZC-1"}
    assert entries[0]["entity_type"] == "case"
    assert entries[0]["fields"] == "name,id_number"
    assert entries[0]["actor"] == "token:cdc-token"
    # A case without a name or ID number shows nothing personal: no entry.
    client.get(f"{API}/cases/ZC-3")
    assert len(audit_entries(client_as, action="read_pii")) == 2


def test_the_detail_is_masked_without_person_pii_read(
    client: TestClient, client_as: ClientAs, token_client: Callable[..., TestClient]
) -> None:
    seed(client)
    reader = token_client("cdc", "city", "3703", permissions={"cases.read"})
    detail = reader.get(f"{API}/cases/ZC-1").json()
    assert (detail["name"], detail["id_number"]) == ("张*", "370306********1234")
    page = reader.get("/cases/ZC-1").text
    assert "张三" not in page
    assert "370306199001011234" not in page
    assert 'id="edit-form"' not in page
    assert audit_entries(client_as, action="read_pii") == []
    # Nor can a name be confirmed by searching for it.
    assert listed(reader, q="张三") == set()
    assert listed(client, q="张三") == {"ZC-1"}


# ---------------------------------------------------------------- export


def test_export_needs_a_reason_is_masked_and_audited(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    refused(client.get(f"{API}/cases.csv"), 422, "validation_error")
    refused(client.get(f"{API}/cases.csv", params={"reason": "x"}), 422, "validation_error")
    rows = exported(client, unit="文昌湖区")
    assert [r["case_no"] for r in rows] == ["ZC-2"]
    assert rows[0]["name"] == "李*四"
    everything = exported(client)
    assert {r["case_no"] for r in everything} == EVERYTHING
    one = next(r for r in everything if r["case_no"] == "ZC-1")
    assert (one["name"], one["id_number"]) == ("张*", "370306********1234")
    assert "notes" not in one
    entries = audit_entries(client_as, action="export")
    assert [e["reason"] for e in entries] == ["流调溯源", "流调溯源"]
    assert entries[0]["entity_type"] == "case"
    assert '"rows": 4' in entries[0]["detail"]
    assert '"unit_code": "3703-wch"' in entries[1]["detail"]


def test_the_case_list_offers_export_only_with_the_permission(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    html = client.get("/cases", params={"unit": "3703-wch"}).text
    assert 'id="export-form"' in html
    assert '<input type="hidden" name="unit" value="3703-wch">' in html
    assert 'id="export-form"' not in client_as("worker").get("/cases").text


# ---------------------------------------------------------------- import


def test_imports_are_audited_rejected_ones_too(client: TestClient, client_as: ClientAs) -> None:
    good = "case_no,district,classification,reported_on\nI-1,周村区,确诊,2022-03-21\n"
    response = client.post(f"{API}/cases/import",
                           files={"file": ("good.csv", good.encode(), "text/csv")})  # fmt: skip
    assert response.status_code == 200, response.text
    bad = good + "I-2,火星区,确诊,2022-03-21\n"
    refused(client.post(f"{API}/cases/import",
                        files={"file": ("bad.csv", bad.encode(), "text/csv")}),
            422, "import_rejected")  # fmt: skip
    entries = audit_entries(client_as, action="import")
    assert [(e["entity_id"], e["outcome"]) for e in entries] == [
        ("bad.csv", "rejected"),
        ("good.csv", "ok"),
    ]
    assert entries[0]["detail"] == '{"rejected": 1}'
    assert entries[1]["detail"] == '{"added": 1, "updated": 0, "unchanged": 0}'
    assert entries[1]["entity_type"] == "case"
    assert listed(client) == {"I-1"}
    refused(client_as("zhoucun").post(f"{API}/cases/import",
                                      files={"file": ("g.csv", good.encode())}),
            403, "forbidden")  # fmt: skip


# ---------------------------------------------------------------- bulletin, dashboard


def test_the_bulletin_needs_a_city_wide_jurisdiction(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    for persona in ("zhoucun", "zhangdian"):
        payload = refused(client_as(persona).get(f"{API}/bulletin"), 403, "forbidden")
        assert "city-wide" in payload["message"]
        refused(client_as(persona).get(f"{API}/bulletin.docx"), 403, "forbidden")
    for persona in ("hq", "hotline", "cdc"):
        assert client_as(persona).get(f"{API}/bulletin").status_code == 200


def test_the_district_dashboard_shows_its_area_and_no_bulletin(
    client: TestClient, client_as: ClientAs
) -> None:
    seed(client)
    html = client_as("zhoucun").get("/", params={"day": "2022-03-21"}).text
    assert "周村区疫情态势" in html
    assert 'id="bulletin-text"' not in html
    assert "由市疫情防控指挥部统一发布" in html
    table = html[html.index('id="unit-table"') :]
    table = table[: table.index("</table>")]
    assert "文昌湖区" in table
    assert "张店区" not in table
    chart = json.loads(html.split('id="dashboard-data">')[1].split("</script>")[0])
    assert chart["area"] == "周村区"
    assert [d["name"] for d in chart["districts"]] == ["周村区"]  # the map highlights it
    assert chart["districts"][0]["zones"] == ["文昌湖区"]
    city = client.get("/", params={"day": "2022-03-21"}).text
    assert "淄博市疫情态势" in city
    assert 'id="bulletin-text"' in city
    assert "由市疫情防控指挥部统一发布" not in city


def test_the_dashboard_needs_stats_read(client_as: ClientAs) -> None:
    # "/" is every link home: without stats.read it leads to the role's own page, the
    # dashboard's figures unseen.
    for persona, home in (("worker", "/monitoring"), ("lab", "/lab"), ("site", "/quarantine")):
        r = client_as(persona).get("/", follow_redirects=False)
        assert r.status_code == 303, persona
        assert r.headers["location"].startswith(home), persona
        assert "新增本土" not in r.text
    assert client_as("hotline").get("/").status_code == 200


# ---------------------------------------------------------------- browsers: cookie and CSRF


def test_cookie_sign_in_then_writes_need_the_csrf_token(
    anon: TestClient, users: dict[str, str]
) -> None:
    r = anon.post(f"{API}/auth/login", json={"username": "cdc", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["csrf_token"]
    body = {"case_no": "C-1", "district": "张店区", "classification": "confirmed",
            "reported_on": "2022-03-20"}  # fmt: skip
    refused(anon.post(f"{API}/cases", json=body), 403, "forbidden")
    assert anon.post(f"{API}/cases", json=body, headers={"X-CSRF-Token": token}).status_code == 201
    form = {**body, "case_no": "C-2", "new_person": "1", "name": "某人"}
    refused(anon.post("/cases/new", data=form), 403, "forbidden")
    page = anon.post("/cases/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert page.status_code == 303
    new_form = anon.get("/cases/new").text
    assert f'name="csrf_token" value="{token}"' in new_form
    assert anon.get(f"{API}/cases").json()["total"] == 2
