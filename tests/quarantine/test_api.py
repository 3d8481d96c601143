"""The quarantine API through the real app (national-9, the default edition): a day planned,
transferred and released, and who may do what where — every endpoint in and out of
jurisdiction."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fangkong.auth.models import AuditEvent
from fangkong.storage.db import session_factory

from .factories import case, contact, resident

API = "/api/v1/quarantine"
Clients = Callable[[str], TestClient]
SITES = """site_code,name,district,lon,lat,room_no,beds
S01,周村宾馆,周村区,117.87,36.80,301,3
S01,周村宾馆,周村区,117.87,36.80,101,1
S02,张店隔离点,张店区,118.05,36.81,201,2
"""


@pytest.fixture
def outbreak(app: object, engine: Engine) -> Iterator[None]:
    """Case C1 in 周村 (丝绸路街道) with a household of two close contacts and a secondary
    contact; one close contact in 张店."""
    with session_factory(engine)() as s, s.begin():
        c1 = case(s, "C1", resident(s, "P-INDEX"))
        for i in range(2):
            contact(s, c1, resident(s, f"P-H{i}", household="HH-A"))
        contact(s, c1, resident(s, "P-SEC"), "secondary")
        far = resident(s, "P-ZD", district="张店区", street="车站街道", community="和平社区")
        contact(s, c1, far)
    return


def plan(client: TestClient) -> dict[str, object]:
    imported = client.post(API + "/sites/import", files={"file": ("sites.csv", SITES)})
    assert imported.status_code == 200, imported.text
    response = client.post(API + "/plan", json={"date": "2022-03-16"})
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_a_day_through_the_api(client_as: Clients, outbreak: None) -> None:
    cdc = client_as("cdc")
    result = plan(cdc)
    assert result["orders"] == 4
    assert result["by_kind"] == {"close": 3, "secondary": 1}
    assert result["at_home"] == 1  # 9th edition: the secondary contact isolates at home
    assert result["placed"] == 3
    assert result["waiting"] == []
    transfers = result["transfers"]
    assert isinstance(transfers, list)
    assert len(transfers) == 2
    household = next(t for t in transfers if t["persons"] == 2)
    assert household["site"] == "S01"
    # dispatch, deliver
    task = household["task_no"]
    patched = cdc.patch(
        f"{API}/transfers/{task}",
        json={"vehicle": "鲁C·12345", "team": "转运一组", "pickup_at": "2022-03-16T21:00:00+08:00"},
    )
    assert patched.json()["vehicle"] == "鲁C·12345"
    done = client_as("site").post(f"{API}/transfers/{task}/done")
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    orders = cdc.get(API + "/orders", params={"status": "in_quarantine"}).json()
    names = {o["person_no"]: o["name"] for o in orders["items"]}
    assert {"P-H0", "P-H1", "P-SEC"} <= set(names)
    assert all("*" in n for n in names.values())  # masked in lists
    board = cdc.get(API + "/board", params={"date": "2022-03-16"}).json()
    assert board["in_quarantine"] == 3
    assert board["pending_transfer"] == 1
    assert board["waiting_for_room"] == 0
    assert board["transfers_pending"] == 1
    assert board["tests_due"] >= 2
    sites = {s["code"]: s for s in cdc.get(API + "/sites").json()}
    assert sites["S01"]["persons"] == 2
    assert sites["S01"]["rooms_in_use"] == 1
    # nobody is released before their last day and tests
    response = cdc.post(API + "/release", json={"date": "2022-03-22"})
    assert response.status_code == 200, response.text
    released = response.json()
    assert released["released"] == []
    held = {h["person_no"]: h["reasons"] for h in released["held"]}
    assert any("未采样" in r for r in held["P-H0"])


def test_an_order_and_its_timeline(client_as: Clients, outbreak: None, engine: Engine) -> None:
    cdc = client_as("cdc")
    plan(cdc)
    order_no = cdc.get(API + "/orders").json()["items"][0]["order_no"]
    masked = cdc.get(f"{API}/orders/{order_no}").json()
    assert "*" in masked["name"]
    assert masked["transitions"][0]["from_status"] is None
    assert [s["kind"] for s in masked["stages"]] in (
        ["centralized", "home_monitoring"],
        ["home_isolation"],
    )
    full = cdc.get(f"{API}/orders/{order_no}", params={"full": "true"}).json()
    assert "*" not in full["name"]
    with session_factory(engine)() as s:
        audited = s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "read_pii", AuditEvent.entity_id == order_no
            )
        )
        assert audited is not None
    lost = cdc.post(f"{API}/orders/{order_no}/lost", json={"why": "电话无人接听"})
    assert lost.json()["status"] == "lost"
    found = cdc.post(f"{API}/orders/{order_no}/found", json={"why": "已找到"})
    assert found.json()["status"] != "lost"
    again = cdc.post(f"{API}/orders/{order_no}/found", json={"why": "again"})
    assert again.status_code == 409
    timeline = cdc.get(f"{API}/people/P-H0/orders").json()
    assert len(timeline) == 1
    assert timeline[0]["tests"]


def test_an_order_by_hand(client_as: Clients, outbreak: None) -> None:
    cdc = client_as("cdc")
    made = cdc.post(
        API + "/orders",
        json={"person_no": "P-INDEX", "kind": "high_risk", "start_on": "2022-03-16"},
    )
    assert made.status_code == 201
    assert made.json()["kind"] == "centralized"
    twice = cdc.post(
        API + "/orders", json={"person_no": "P-INDEX", "kind": "close", "start_on": "2022-03-16"}
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "conflict"
    bad = cdc.post(
        API + "/orders", json={"person_no": "P-INDEX", "kind": "friend", "start_on": "2022-03-16"}
    )
    assert bad.status_code == 422


def test_jurisdiction_of_every_endpoint(
    client_as: Clients, anon: TestClient, outbreak: None
) -> None:
    cdc = client_as("cdc")
    plan(cdc)
    items = cdc.get(API + "/orders").json()["items"]
    zc_order = next(o["order_no"] for o in items if o["person_no"] == "P-H0")
    zd_order = next(o["order_no"] for o in items if o["person_no"] == "P-ZD")
    tasks = {t["site"]: t["task_no"] for t in cdc.get(API + "/transfers").json()}
    zc_task = next(t["task_no"] for t in cdc.get(API + "/transfers").json() if t["persons"] == 2)

    # anonymous callers get nothing
    for method, path in (
        ("get", "/sites"),
        ("get", "/orders"),
        ("get", f"/orders/{zc_order}"),
        ("get", "/transfers"),
        ("get", "/board"),
        ("post", "/plan"),
        ("post", "/release"),
    ):
        assert getattr(anon, method)(API + path).status_code == 401, path

    # a district officer of 张店 sees 张店's orders, never 周村's
    zhangdian = client_as("zhangdian")
    seen = {o["person_no"] for o in zhangdian.get(API + "/orders").json()["items"]}
    assert seen == {"P-ZD"}
    assert zhangdian.get(f"{API}/orders/{zc_order}").status_code == 404
    assert zhangdian.get(f"{API}/orders/{zd_order}").status_code == 200
    assert zhangdian.post(f"{API}/orders/{zc_order}/lost", json={"why": "x" * 3}).status_code == 404
    assert zhangdian.get(f"{API}/people/P-H0/orders").status_code == 404
    assert zhangdian.patch(f"{API}/transfers/{zc_task}", json={"team": "x"}).status_code == 404
    # the street's community worker reads the street's orders but plans nothing
    worker = client_as("worker")
    seen = {o["person_no"] for o in worker.get(API + "/orders").json()["items"]}
    assert seen == {"P-H0", "P-H1", "P-SEC"}
    assert worker.post(API + "/plan", json={"date": "2022-03-16"}).status_code == 403
    assert worker.post(API + "/release", json={"date": "2022-03-16"}).status_code == 403
    assert worker.post(f"{API}/transfers/{zc_task}/done").status_code == 403
    assert worker.post(API + "/sites/import", files={"file": ("s.csv", SITES)}).status_code == 403
    # site staff of S01 see S01 and the people placed there, nothing else
    staff = client_as("site")
    assert [s["code"] for s in staff.get(API + "/sites").json()] == ["S01"]
    # another site answers as one that does not exist (docs/security.md: 404 outside)
    for path in ("/sites/S02", "/sites/S02/tests", "/sites/NOPE"):
        other = staff.get(API + path)
        assert other.status_code == 404, path
        assert other.json()["code"] == "not_found"
    assert staff.get(API + "/sites/S02").json()["message"] == "no quarantine site 'S02'"
    seen = {o["person_no"] for o in staff.get(API + "/orders").json()["items"]}
    assert seen == {"P-H0", "P-H1"}
    assert staff.get(f"{API}/orders/{zd_order}").status_code == 404
    assert staff.post(API + "/plan", json={"date": "2022-03-16"}).status_code == 403
    s02_task = tasks["S02"]
    for method, path in (("post", "/done"), ("post", "/cancel"), ("patch", "")):
        r = getattr(staff, method)(f"{API}/transfers/{s02_task}{path}", json={"why": "x"})
        assert r.status_code in (403, 404), (method, path)
    done = staff.post(f"{API}/transfers/{s02_task}/done")
    assert done.status_code == 404
    assert done.json()["message"] == f"no transfer task {s02_task!r}"
    # the hotline and the lab have no quarantine permission at all
    for persona in ("hotline", "lab"):
        assert client_as(persona).get(API + "/orders").status_code == 403


def test_a_bad_site_file_is_reported_by_row(client_as: Clients) -> None:
    response = client_as("cdc").post(
        API + "/sites/import",
        files={"file": ("sites.csv", "site_code,name,district,beds\nS01,x,周村区,0\n")},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "import_rejected"
    assert body["details"]["errors"][0]["row"] == 2


def _pii_reads(engine: Engine) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "transfer_task")))


def test_pickup_addresses_stop_at_the_compound_unless_unmasked_and_audited(
    client_as: Clients, outbreak: None, engine: Engine
) -> None:
    cdc, staff = client_as("cdc"), client_as("site")
    task = next(t for t in plan(cdc)["transfers"] if t["site"] == "S01")  # type: ignore[union-attr]
    full_address = "新建路社区 丝绸苑小区 1号楼 101"
    assert task["pickup_address"] == "新建路社区 丝绸苑小区"
    assert task["masked"]
    assert staff.post(f"{API}/transfers/{task['task_no']}/done").status_code == 200
    # Site staff (no person.pii.read) list the delivered transfers: masked, and no way round.
    done = staff.get(API + "/transfers", params={"status": "done"})
    assert done.status_code == 200
    assert [t["pickup_address"] for t in done.json()] == ["新建路社区 丝绸苑小区"]
    assert "1号楼" not in done.text
    assert "101" not in done.text.replace(task["task_no"], "")
    refused = staff.get(API + "/transfers", params={"status": "done", "full": "true"})
    assert refused.status_code == 403
    assert _pii_reads(engine) == []
    # The CDC sees the room with full=true, and the look is in the audit log.
    assert full_address not in cdc.get(API + "/transfers", params={"status": "done"}).text
    unmasked = cdc.get(API + "/transfers", params={"status": "done", "full": "true"}).json()
    assert [t["pickup_address"] for t in unmasked] == [full_address]
    [entry] = _pii_reads(engine)
    assert (entry.action, entry.fields, entry.actor_kind) == ("read_pii", "pickup_address", "token")
    assert task["task_no"] in (entry.detail or "")
