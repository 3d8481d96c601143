"""The administrator's page: users created, passwords reset and tokens revoked by hand,
each audited; signing in lands each role on its own page."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fangkong.auth.models import AuditEvent
from fangkong.storage.db import session_factory
from fangkong.testing import labs
from tests.conftest import NOW, PASSWORD
from tests.signin import form_login

NEW_PASSWORD = "a-new-secret-2022"


def signed_in(anon: TestClient, username: str) -> str:
    """Sign ``anon`` in; the page it lands on."""
    r = form_login(anon, username, PASSWORD)
    assert r.status_code == 303, r.text
    location: str = r.headers["location"]
    return location


def csrf(client: TestClient, path: str = "/admin/users") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_each_role_lands_on_its_own_page(app: FastAPI, users: dict[str, str]) -> None:
    homes = {
        "hq": "/",
        "zhoucun": "/",
        "worker": "/monitoring",
        "site": "/quarantine/sites/S01",
        "lab": "/lab",
        "hotline": "/people",
        "admin": "/admin/users",
    }
    for username, home in homes.items():
        with TestClient(app) as anon:
            assert signed_in(anon, username) == home, username
    with TestClient(app) as anon:
        r = form_login(anon, "lab", PASSWORD, next="/lab?x=1")
        assert r.headers["location"] == "/lab?x=1"  # a page asked for is kept


def test_admin_creates_a_user_resets_a_password_and_revokes_a_token(
    anon: TestClient, users: dict[str, str], engine: Engine
) -> None:
    signed_in(anon, "admin")
    token = csrf(anon)
    r = anon.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "xinjian01",
            "display_name": "新建路社区网格员",
            "role": "community_worker",
            "scope_kind": "street",
            "scope_code": "370306001",
            "password": "xinjian-2022-pass",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/users?done=created"
    page = anon.get(r.headers["location"]).text
    assert "用户已创建" in page
    assert "xinjian01" in page

    bad = anon.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "xinjian01",
            "role": "community_worker",
            "scope_kind": "street",
            "scope_code": "370306001",
            "password": "xinjian-2022-pass",
        },
    )
    assert bad.status_code == 409
    assert "已存在" in bad.text

    short = anon.post(
        "/admin/users/worker/password", data={"csrf_token": token, "password": "short"}
    )
    assert short.status_code == 422
    assert "至少需要" in short.text
    r = anon.post(
        "/admin/users/worker/password",
        data={"csrf_token": token, "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with TestClient(anon.app) as worker:
        assert form_login(worker, "worker", PASSWORD).status_code == 401
        assert form_login(worker, "worker", NEW_PASSWORD).status_code == 303

    with session_factory(engine)() as s, s.begin():  # a lab account needs a registered lab
        labs.register_lab(s, city_code="3703", code="L01", name="市疾控检测实验室", now=NOW)
    made = anon.post(
        "/admin/tokens",
        data={
            "csrf_token": token,
            "name": "lab-feed",
            "role": "lab",
            "scope_kind": "lab",
            "scope_code": "L01",
            "days": "30",
        },
    )
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    raw = re.search(r'id="new-token">(fk_[^<]+)<', made.text)
    assert raw, made.text
    prefix = raw.group(1).split("_")[1]
    with TestClient(anon.app, headers={"Authorization": f"Bearer {raw.group(1)}"}) as lab:
        assert lab.get("/api/v1/auth/me").status_code == 200
        r = anon.post(f"/admin/tokens/{prefix}/revoke", data={"csrf_token": token})
        assert r.status_code == 200
        assert "令牌已吊销" in r.text
        assert lab.get("/api/v1/auth/me").status_code == 401
    assert {"user_create", "password_reset", "token_create", "token_revoke"} <= set(actions(engine))


def test_only_the_administrator_may(anon: TestClient, users: dict[str, str]) -> None:
    signed_in(anon, "hq")
    token = csrf(anon, "/")
    r = anon.post("/admin/users/worker/password", data={"csrf_token": token, "password": "x" * 12})
    assert r.status_code == 403
    assert "无权访问" in r.text
