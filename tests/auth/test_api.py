"""Sign-in over HTTP: cookies, CSRF, lock-out, own password; users, tokens, audit log."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fangkong.auth.deps import COOKIE
from fangkong.storage.db import session_factory
from fangkong.testing import labs
from tests.conftest import NOW, PASSWORD
from tests.signin import form_login


def login(c: TestClient, name: str, password: str = PASSWORD) -> dict[str, object]:
    r = c.post("/api/v1/auth/login", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_login_sets_a_protected_cookie_and_me_answers(anon: TestClient, users: object) -> None:
    r = anon.post("/api/v1/auth/login", json={"username": "zhoucun", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    me = anon.get("/api/v1/auth/me").json()
    assert me["role"] == "district_officer"
    assert me["jurisdiction"] == "周村区"
    assert me["csrf_token"]


def test_secure_flag_follows_the_setting(app: object, users: object) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    app.state.settings = app.state.settings.model_copy(update={"cookie_secure": True})
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post("/api/v1/auth/login", json={"username": "cdc", "password": PASSWORD})
        assert "Secure" in r.headers["set-cookie"]


def test_wrong_password_is_401_and_locks_after_five(anon: TestClient, users: object) -> None:
    for _ in range(5):
        r = anon.post("/api/v1/auth/login", json={"username": "cdc", "password": "nope"})
        assert r.status_code == 401
        assert r.json()["code"] == "unauthenticated"
    r = anon.post("/api/v1/auth/login", json={"username": "cdc", "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "account_locked"


def test_cookie_requests_need_the_csrf_token(anon: TestClient, users: object) -> None:
    me = login(anon, "cdc")
    body = {
        "case_no": "C1",
        "district": "张店区",
        "classification": "confirmed",
        "reported_on": "2022-03-20",
    }
    r = anon.post("/api/v1/cases", json=body)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    r = anon.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = anon.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": str(me["csrf_token"])})
    assert r.status_code == 201, r.text


def test_logout_ends_the_session(anon: TestClient, users: object) -> None:
    me = login(anon, "cdc")
    r = anon.post("/api/v1/auth/logout", headers={"X-CSRF-Token": str(me["csrf_token"])})
    assert r.status_code == 204
    assert anon.get("/api/v1/auth/me").status_code == 401


def test_password_change(anon: TestClient, users: object) -> None:
    me = login(anon, "zhoucun")
    headers = {"X-CSRF-Token": str(me["csrf_token"])}
    r = anon.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": "bad", "new_password": "a new long password"},
    )
    assert r.status_code == 401
    r = anon.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": "short"},
    )
    assert r.status_code == 422
    r = anon.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": "a new long password"},
    )
    assert r.status_code == 204
    with TestClient(anon.app) as other:
        login(other, "zhoucun", "a new long password")


def test_bad_bearer_token_is_401(anon: TestClient) -> None:
    r = anon.get("/api/v1/cases", headers={"Authorization": "Bearer fk_nope_nope"})
    assert r.status_code == 401


def test_admin_manages_users_and_tokens(
    client_as: Callable[[str], TestClient], engine: Engine
) -> None:
    admin = client_as("admin")
    r = admin.post(
        "/api/v1/users",
        json={
            "username": "zd_worker",
            "password": "worker password 1",
            "role": "community_worker",
            "scope_kind": "street",
            "scope_code": "车站街道",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["scope_code"] == "370303001"
    assert any(u["username"] == "zd_worker" for u in admin.get("/api/v1/users").json())
    lab = {"name": "lab-x", "role": "lab", "scope_kind": "lab", "scope_code": "L9", "days": 7}
    r = admin.post("/api/v1/tokens", json=lab)
    assert r.status_code == 422  # no such lab yet
    with session_factory(engine)() as s, s.begin():
        labs.register_lab(s, city_code="3703", code="L9", name="第三方检测机构", now=NOW)
    r = admin.post("/api/v1/tokens", json=lab)
    assert r.status_code == 201
    secret, prefix = r.json()["token"], r.json()["prefix"]
    assert all("token" not in t for t in admin.get("/api/v1/tokens").json())
    assert (
        admin.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).json()["role"]
        == "lab"
    )
    assert admin.post(f"/api/v1/tokens/{prefix}/revoke").status_code == 200
    r = admin.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401
    assert admin.post("/api/v1/users/zd_worker/disable").json()["is_active"] is False
    actions = [e["action"] for e in admin.get("/api/v1/audit").json()["items"]]
    assert {"user_create", "token_create", "token_revoke", "user_disable"} <= set(actions)


def test_non_admins_cannot_manage_users(client_as: Callable[[str], TestClient]) -> None:
    for persona in ("hq", "cdc", "zhoucun"):
        assert client_as(persona).get("/api/v1/users").status_code == 403
        assert client_as(persona).get("/api/v1/audit").status_code == 403


def test_audit_export_needs_a_reason_and_is_itself_audited(
    client_as: Callable[[str], TestClient],
) -> None:
    admin = client_as("admin")
    assert admin.get("/api/v1/audit.csv").status_code == 422
    r = admin.get("/api/v1/audit.csv", params={"reason": "月度核查"})
    assert r.status_code == 200
    assert r.text.lstrip("\ufeff").startswith("id,at,actor")
    last = admin.get("/api/v1/audit", params={"action": "export"}).json()["items"][0]
    assert last["reason"] == "月度核查"
    assert last["actor"] == "token:admin-token"


def test_audit_log_has_no_edit_interface(client_as: Callable[[str], TestClient]) -> None:
    admin = client_as("admin")
    for method in ("put", "patch", "delete"):
        r = getattr(admin, method)("/api/v1/audit")
        assert r.status_code == 405
    routes = [r for r in admin.app.routes if "audit" in getattr(r, "path", "")]  # type: ignore[attr-defined]
    assert all(set(getattr(r, "methods", {"GET"})) <= {"GET", "HEAD"} for r in routes)


def test_login_page_and_sign_in_redirect(anon: TestClient, users: object) -> None:
    r = anon.get("/cases", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2Fcases")
    page = anon.get("/login?next=/cases")
    assert "登录" in page.text
    r = form_login(anon, "cdc", "bad", next="/cases")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    r = form_login(anon, "cdc", PASSWORD, next="https://evil.example/")
    assert r.status_code == 303
    assert r.headers["location"] == "/"  # no open redirect
