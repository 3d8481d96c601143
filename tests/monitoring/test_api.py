"""Home health monitoring through the app: the workers' API and pages, jurisdiction of
every route, the public self-report link (API and page), masking and audit of PII."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fangkong.auth.deps import Public, Require
from fangkong.auth.models import AuditEvent
from fangkong.config import Settings, get_settings
from fangkong.deps import open_store
from fangkong.monitoring import api as monitoring_api
from fangkong.monitoring import cli as monitoring_cli
from fangkong.monitoring import pages as monitoring_pages
from fangkong.monitoring import service
from fangkong.monitoring.models import MonitoringReport, MonitoringTask
from fangkong.storage.db import session_factory
from tests.auth.test_routes import Mounted, _token_without, api_routes, guards, sample_path
from tests.monitoring.test_service import DAY, POLICY, local, make_order, make_person

API = "/api/v1/monitoring"
Clients = Callable[[str], TestClient]


@pytest.fixture(autouse=True)
def wired(app: FastAPI) -> FastAPI:
    """The app with the monitoring routers (included here until main.py includes them)."""
    paths = {m.path for m in api_routes(app)}
    if f"{API}/worklist" not in paths:
        app.include_router(monitoring_api.router, prefix="/api/v1")
    if "/m/{token}" not in paths:
        app.include_router(monitoring_pages.router)
    return app


@dataclass(frozen=True)
class Town:
    silk: int  # 新建路社区, 丝绸路街道 (the worker's street), 周村区
    east: int  # 东门社区, 大街街道, 周村区
    station: int  # 车站社区, 车站街道, 张店区


@pytest.fixture
def town(app: FastAPI, engine: Engine) -> Town:
    """QO-1 (王小明, 丝绸路街道), QO-2 (大街街道), QO-3 (张店区): in home monitoring."""
    with session_factory(engine)() as s, s.begin():
        silk = make_order(s, make_person(s, "P1", name="王小明", household="H1"), order_no="QO-1")
        east = make_order(
            s,
            make_person(s, "P2", name="刘大力", street="大街街道", community="东门社区"),
            order_no="QO-2",
        )
        station = make_order(
            s,
            make_person(s, "P3", district="张店区", street="车站街道", community="车站社区"),
            order_no="QO-3",
        )
        ids = (silk.community_id, east.community_id, station.community_id)
    assert all(ids)
    return Town(*ids)  # type: ignore[arg-type]


def reports_of(engine: Engine, order_no: str) -> list[MonitoringReport]:
    from fangkong.quarantine.models import QuarantineOrder

    with session_factory(engine)() as s:
        return list(
            s.scalars(
                select(MonitoringReport)
                .join(QuarantineOrder, QuarantineOrder.id == MonitoringReport.order_id)
                .where(QuarantineOrder.order_no == order_no)
            )
        )


def raise_alerts(engine: Engine) -> None:
    """The morning window closed at 12:00: everyone without a report gets a follow-up."""
    from fangkong.auth.jurisdiction import bind

    with session_factory(engine)() as s, s.begin():
        service.run_alerts(
            s,
            day=DAY,
            now=local(20),
            policy=POLICY,
            scope=bind("city", "3703"),
        )


# ---------------------------------------------------------------- reports by workers


def test_workers_enter_reports_in_their_own_area_only(
    client_as: Clients, anon: TestClient, town: Town, engine: Engine
) -> None:
    body = {"temperature": 37.3, "symptoms": ["dry_cough"], "channel": "phone"}
    r = client_as("worker").post(f"{API}/orders/QO-1/reports", json=body)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["window"], got["channel"], got["symptoms"]) == ("evening", "phone", ["dry_cough"])
    assert "37.3℃" in got["alert"]
    assert got["task_id"]
    assert client_as("zhoucun").post(f"{API}/orders/QO-1/reports", json=body).status_code == 201
    for persona, order_no, status in (
        ("worker", "QO-2", 404),  # another street of the same district
        ("worker", "QO-3", 404),
        ("zhangdian", "QO-1", 404),
        ("site", "QO-1", 403),  # site staff do not enter monitoring reports
        ("hotline", "QO-1", 403),
        ("worker", "QO-404", 404),
    ):
        r = client_as(persona).post(f"{API}/orders/{order_no}/reports", json=body)
        assert r.status_code == status, (persona, order_no, r.text)
    assert anon.post(f"{API}/orders/QO-1/reports", json=body).status_code == 401
    assert len(reports_of(engine, "QO-1")) == 2
    assert reports_of(engine, "QO-2") == []
    assert reports_of(engine, "QO-3") == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"temperature": 36.5, "symptoms": ["cough"]}, "invalid_input"),
        ({"temperature": 50}, "invalid_input"),
        ({"temperature": 36.5, "at": "2022-03-23T08:00:00"}, "validation_error"),  # no zone
        ({"temperature": 36.5, "channel": "self"}, "validation_error"),
        ({"temperature": 36.5, "person_id": 2}, "validation_error"),
    ],
)
def test_bad_reports_are_refused(
    client_as: Clients, town: Town, engine: Engine, body: dict[str, object], code: str
) -> None:
    r = client_as("worker").post(f"{API}/orders/QO-1/reports", json=body)
    assert (r.status_code, r.json()["code"]) == (422, code), r.text
    assert reports_of(engine, "QO-1") == []


# ---------------------------------------------------------------- worklist and tasks


def test_the_worklist_is_masked_and_cut_to_the_jurisdiction(client_as: Clients, town: Town) -> None:
    worker = client_as("worker")
    r = worker.get(f"{API}/worklist", params={"community_id": town.silk, "day": "2022-03-23"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["community_name"], got["total_persons"], got["pii"]) == ("新建路社区", 1, False)
    (member,) = got["households"][0]["members"]
    assert (member["name"], member["phone"], member["address"]) == ("王*明", "138****2345", None)
    assert [(w["name"], w["state"]) for w in member["windows"]] == [
        ("morning", "missed"),
        ("evening", "open"),
    ]
    for persona, community in (
        ("worker", town.east),
        ("zhangdian", town.silk),
        ("site", town.silk),
    ):
        r = client_as(persona).get(f"{API}/worklist", params={"community_id": community})
        assert r.status_code == 404, persona
        assert r.json()["code"] == "not_found"
    assert client_as("hotline").get(f"{API}/worklist?community_id={town.silk}").status_code == 403
    own = client_as("zhangdian").get(f"{API}/worklist?community_id={town.station}")
    assert own.status_code == 200


def test_a_full_worklist_needs_the_pii_permission_and_is_audited(
    client_as: Clients, town: Town, engine: Engine
) -> None:
    r = client_as("worker").get(f"{API}/worklist", params={"community_id": town.silk, "full": True})
    assert r.status_code == 200
    (member,) = r.json()["households"][0]["members"]
    assert (member["name"], member["phone"]) == ("王小明", "13853312345")
    assert member["address"] == "丝绸苑小区 3号楼 301"
    with session_factory(engine)() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "read_pii")).all()
    assert (event.entity_type, event.entity_id, event.fields) == (
        "monitoring_worklist",
        f"{town.silk}:2022-03-23",
        "name,phone,address",
    )
    assert event.actor == "token:worker-token"
    assert "P1" in (event.detail or "")
    # The masked list is not a read of personal data.
    client_as("zhoucun").get(f"{API}/worklist", params={"community_id": town.silk})
    with session_factory(engine)() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "read_pii")).all()) == 1


def test_tasks_are_listed_and_closed_inside_the_jurisdiction(
    client_as: Clients, town: Town, engine: Engine
) -> None:
    raise_alerts(engine)
    worker, zhangdian = client_as("worker"), client_as("zhangdian")
    mine = worker.get(f"{API}/tasks", params={"day": "2022-03-23"}).json()
    assert mine["total"] == 1
    (task,) = mine["items"]
    assert (task["order_no"], task["kind"], task["window"], task["name"]) == (
        "QO-1",
        "follow_up",
        "morning",
        "王*明",
    )
    theirs = zhangdian.get(f"{API}/tasks").json()["items"]
    assert [t["order_no"] for t in theirs] == ["QO-3"]
    assert client_as("cdc").get(f"{API}/tasks", params={"kind": "follow_up"}).json()["total"] == 3
    assert client_as("site").get(f"{API}/tasks").json()["total"] == 0
    outcome = {"outcome": "已电话联系，本人在家，体温正常"}
    assert worker.post(f"{API}/tasks/{theirs[0]['id']}/done", json=outcome).status_code == 404
    r = worker.post(f"{API}/tasks/{task['id']}/done", json=outcome)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome"]) == ("done", outcome["outcome"])
    again = worker.post(f"{API}/tasks/{task['id']}/done", json=outcome)
    assert (again.status_code, again.json()["code"]) == (409, "task_closed")
    assert worker.get(f"{API}/tasks", params={"status": "open"}).json()["total"] == 0


# ---------------------------------------------------------------- the self-report link


def issue_link(client: TestClient, order_no: str = "QO-1") -> str:
    r = client.post(f"{API}/orders/{order_no}/link")
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    url: str = r.json()["url"]
    assert re.match(r"^http://testserver/m/[0-9a-f]{8}_[A-Za-z0-9_-]{43}$", url), url
    return url.rsplit("/", 1)[1]


def test_a_link_reports_for_its_own_order_only(
    client_as: Clients, anon: TestClient, town: Town, engine: Engine
) -> None:
    token = issue_link(client_as("worker"))
    info = anon.get(f"{API}/self/{token}")
    assert info.status_code == 200, info.text
    assert info.headers["referrer-policy"] == "no-referrer"
    got = info.json()
    assert (got["name"], got["day"], got["monitored"]) == ("王*明", "2022-03-23", True)
    assert "13853312345" not in info.text
    assert "QO-1" not in info.text
    assert got["symptoms"]["loss_of_smell_or_taste"] == "嗅（味）觉减退"
    r = anon.post(f"{API}/self/{token}/reports", json={"temperature": 36.6})
    assert r.status_code == 201, r.text
    assert (r.json()["window"], r.json()["alert"]) == ("evening", False)
    # Nothing that names a person or an order is accepted from the client.
    for extra in ({"person_id": 2}, {"order_no": "QO-2"}, {"channel": "phone"}):
        r = anon.post(f"{API}/self/{token}/reports", json={"temperature": 38.5, **extra})
        assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    fever = anon.post(f"{API}/self/{token}/reports", json={"temperature": 38.5})
    assert fever.json()["alert"] is True
    assert "发热门诊" in fever.json()["message"]
    (mine, hot) = reports_of(engine, "QO-1")
    assert (mine.channel, mine.temperature, hot.temperature) == ("self", 36.6, 38.5)
    assert mine.entered_by == f"link:{token[:8]}"
    assert reports_of(engine, "QO-2") == []
    assert reports_of(engine, "QO-3") == []
    after = anon.get(f"{API}/self/{token}").json()
    assert after["windows"][1]["state"] == "reported"
    assert after["last_temperature"] == 38.5


def test_links_are_refused_when_invalid_revoked_or_reissued(
    client_as: Clients, anon: TestClient, town: Town
) -> None:
    worker = client_as("worker")
    old = issue_link(worker)
    new = issue_link(worker)
    for token, status, code in (
        (old, 410, "link_revoked"),
        ("nonsense", 404, "link_invalid"),
        (new[:-2] + "xx", 404, "link_invalid"),
    ):
        r = anon.get(f"{API}/self/{token}")
        assert (r.status_code, r.json()["code"]) == (status, code)
        r = anon.post(f"{API}/self/{token}/reports", json={"temperature": 36.5})
        assert (r.status_code, r.json()["code"]) == (status, code)
    assert anon.get(f"{API}/self/{new}").status_code == 200
    revoked = worker.delete(f"{API}/orders/QO-1/link")
    assert revoked.json() == {"revoked": 1}
    r = anon.get(f"{API}/self/{new}")
    assert (r.status_code, r.json()["code"]) == (410, "link_revoked")


def test_links_are_issued_inside_the_jurisdiction_and_audited(
    client_as: Clients, town: Town, engine: Engine
) -> None:
    assert client_as("worker").post(f"{API}/orders/QO-3/link").status_code == 404
    assert client_as("zhangdian").delete(f"{API}/orders/QO-1/link").status_code == 404
    assert client_as("site").post(f"{API}/orders/QO-1/link").status_code == 403
    issue_link(client_as("zhoucun"))
    client_as("zhoucun").delete(f"{API}/orders/QO-1/link")
    with session_factory(engine)() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == "QO-1").order_by(AuditEvent.id)
        ).all()
    assert actions == ["issue_link", "revoke_link"]


# ---------------------------------------------------------------- guards of every route


def monitoring_routes(app: FastAPI) -> list[Mounted]:
    return [m for m in api_routes(app) if m.path.startswith((API, "/monitoring", "/m/"))]


def test_every_monitoring_route_declares_its_guard(wired: FastAPI) -> None:
    routes = monitoring_routes(wired)
    assert len(routes) >= 14
    assert all(guards(r) for r in routes), [r.path for r in routes if not guards(r)]
    public = sorted({r.path for r in routes if any(isinstance(g, Public) for g in guards(r))})
    assert public == [f"{API}/self/{{token}}", f"{API}/self/{{token}}/reports", "/m/{token}"]


def test_anonymous_callers_are_refused_everywhere_but_the_link(
    wired: FastAPI, anon: TestClient
) -> None:
    for route in monitoring_routes(wired):
        if any(isinstance(g, Public) for g in guards(route)):
            continue
        for method in route.methods - {"HEAD"}:
            r = anon.request(method, sample_path(route), follow_redirects=False)
            if route.include_in_schema:
                assert r.status_code == 401, f"{method} {route.path}"
            else:
                assert r.status_code == 303, f"{method} {route.path}"
                assert r.headers["location"].startswith("/login")


def test_a_missing_permission_is_403(wired: FastAPI, engine: Engine, settings: Settings) -> None:
    checked = 0
    with TestClient(wired) as c:
        for route in monitoring_routes(wired):
            for g in guards(route):
                if not isinstance(g, Require):
                    continue
                token = _token_without(engine, settings, g.permission)
                for method in route.methods - {"HEAD"}:
                    r = c.request(
                        method,
                        sample_path(route),
                        headers={"Authorization": f"Bearer {token}"},
                        follow_redirects=False,
                    )
                    assert r.status_code == 403, f"{method} {route.path} without {g.permission}"
                    checked += 1
    assert checked == 10


# ---------------------------------------------------------------- pages


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def test_the_self_report_page(
    client_as: Clients, browser: TestClient, town: Town, engine: Engine
) -> None:
    token = issue_link(client_as("worker"))
    page = browser.get(f"/m/{token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert "王*明" in html
    assert "王小明" not in html
    for label in ("干咳", "乏力", "咽痛", "嗅（味）觉减退", "腹泻"):
        assert label in html
    assert 'name="csrf_token"' not in html  # the link is the credential
    r = browser.post(f"/m/{token}", data={"temperature": "36.7"}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/m/{token}?done=ok")
    r = browser.post(
        f"/m/{token}",
        data={"temperature": "36.9", "symptoms": ["dry_cough", "fatigue"]},
        follow_redirects=False,
    )
    assert r.headers["location"].endswith("done=alert")
    assert "发热门诊" in browser.get(r.headers["location"]).text
    bad = browser.post(f"/m/{token}", data={"temperature": "hot"})
    assert bad.status_code == 422
    assert "请填写体温" in bad.text
    reports = reports_of(engine, "QO-1")
    assert [(r.temperature, r.symptoms) for r in reports] == [
        (36.7, ""),
        (36.9, "dry_cough fatigue"),
    ]
    dead = browser.get("/m/nonsense")
    assert dead.status_code == 404
    assert 'data-code="link_invalid"' in dead.text
    assert 'name="temperature"' not in dead.text


def test_the_worklist_page(
    client_as: Clients, anon: TestClient, town: Town, engine: Engine
) -> None:
    raise_alerts(engine)
    worker = client_as("worker")
    page = worker.get("/monitoring")
    assert page.status_code == 200, page.text
    assert "新建路社区" in page.text
    assert "王*明" in page.text
    assert "东门社区" not in page.text
    assert "刘*力" not in page.text
    assert "漏报跟进" in page.text
    other = worker.get(f"/monitoring?community_id={town.east}")
    assert other.status_code == 404
    assert "王*明" not in other.text
    r = worker.post(
        "/monitoring/orders/QO-1/reports",
        data={"temperature": "37.5", "channel": "phone", "community_id": str(town.silk)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "done=alert" in r.headers["location"]
    assert f"community_id={town.silk}" in r.headers["location"]
    with session_factory(engine)() as s:
        tasks = s.scalars(select(MonitoringTask).order_by(MonitoringTask.id)).all()
        mine = [t for t in tasks if t.community_id == town.silk]
    assert [t.kind for t in mine] == ["follow_up", "referral"]
    r = worker.post(
        f"/monitoring/tasks/{mine[0].id}/done",
        data={"outcome": "已联系", "community_id": str(town.silk), "day": "2022-03-23"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "done=closed" in r.headers["location"]
    refused = worker.post(
        "/monitoring/orders/QO-3/reports", data={"temperature": "36.5"}, follow_redirects=False
    )
    assert refused.status_code == 404
    link = worker.post("/monitoring/orders/QO-1/link", data={"community_id": str(town.silk)})
    assert link.status_code == 200
    assert re.search(r"/m/[0-9a-f]{8}_", link.text)
    assert anon.get("/monitoring", follow_redirects=False).headers["location"].startswith("/login")
    assert client_as("site").get("/monitoring").status_code == 200  # an empty list


def test_the_full_worklist_page_is_audited(client_as: Clients, town: Town, engine: Engine) -> None:
    page = client_as("worker").get(f"/monitoring?community_id={town.silk}&full=1")
    assert "王小明" in page.text
    assert "13853312345" in page.text
    with session_factory(engine)() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "read_pii")).all()
    assert [e.entity_type for e in events] == ["monitoring_worklist"]


# ---------------------------------------------------------------- the command line


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh home at 23:40 on 23 March with QO-1 (丝绸路街道), QO-3 (张店区)."""
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-23T23:40+08:00")
    monkeypatch.setenv("FANGKONG_POLICY", "zibo-2022-03")
    monkeypatch.setenv("FANGKONG_SECRET_KEY", "cli-test-secret-0123456789")
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_CITY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    store = open_store(get_settings())
    with store.sessions() as s, s.begin():
        order = make_order(s, make_person(s, "P1", name="王小明"), order_no="QO-1")
        make_order(
            s,
            make_person(s, "P3", district="张店区", street="车站街道", community="车站社区"),
            order_no="QO-3",
        )
        service.record_report(
            s,
            order=order,
            at=local(7),
            temperature=38.1,
            symptoms=(),
            channel="phone",
            entered_by="worker",
            note=None,
            policy=POLICY,
        )
    store.engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_the_alert_run_and_links_from_the_command_line(cli_home: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(monitoring_cli.app, ["alerts", "--date", "2022-03-23"])
    assert first.exit_code == 0, first.output
    assert "2 under monitoring; new referrals 0, new follow-ups 3" in first.output
    assert "QO-3" in first.output
    assert "漏报跟进" in first.output
    again = runner.invoke(monitoring_cli.app, ["alerts", "--date", "2022-03-23"])
    assert "new referrals 0, new follow-ups 0" in again.output
    bad = runner.invoke(monitoring_cli.app, ["alerts", "--date", "23/03/2022"])
    assert bad.exit_code != 0
    link = runner.invoke(monitoring_cli.app, ["link", "QO-1", "--base-url", "https://fk.example"])
    assert link.exit_code == 0, link.output
    assert re.search(r"^https://fk\.example/m/[0-9a-f]{8}_\S{43}$", link.output, re.M)
    missing = runner.invoke(monitoring_cli.app, ["link", "QO-404"])
    assert missing.exit_code == 1
