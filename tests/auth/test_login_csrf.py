"""The sign-in form's pre-session CSRF token (signed double submit)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fangkong.auth import login_csrf
from fangkong.auth.deps import COOKIE
from fangkong.config import Settings
from tests.conftest import PASSWORD
from tests.signin import form_login, login_token


def test_the_form_sets_a_strict_cookie_and_carries_the_same_token(anon: TestClient) -> None:
    page = anon.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{login_csrf.COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Path=/login" in cookie
    token = anon.cookies.get(login_csrf.COOKIE)
    assert token
    assert f'name="csrf_token" value="{token}"' in page.text
    # A second tab shows the same token: both forms stay valid.
    assert login_token(anon) == token


def test_a_post_without_the_token_signs_no_one_in(anon: TestClient, users: object) -> None:
    anon.get("/login")
    r = anon.post("/login", data={"username": "cdc", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert "登录页面已过期" in r.text
    assert COOKIE not in r.headers.get("set-cookie", "")
    # The answer is a fresh form the user can send again.
    assert form_login(anon, "cdc", PASSWORD).status_code == 303


def test_a_token_without_its_cookie_or_of_another_key_is_refused(
    anon: TestClient, users: object
) -> None:
    token = login_token(anon)
    anon.cookies.clear()  # another site's post carries no cookie of ours
    r = anon.post(
        "/login",
        data={"username": "cdc", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 403
    nonce = "f" * 32
    forged = f"{nonce}.{login_csrf._mac('another-secret-key-0123456789', nonce)}"
    anon.cookies.set(login_csrf.COOKIE, forged, path="/login")
    r = anon.post(
        "/login",
        data={"username": "cdc", "password": PASSWORD, "csrf_token": forged},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_signing_in_sets_the_session_and_drops_the_form_cookie(
    anon: TestClient, users: object
) -> None:
    r = form_login(anon, "cdc", PASSWORD)
    assert r.status_code == 303
    cookies = r.headers.get_list("set-cookie")
    assert any(c.startswith(f"{COOKIE}=") for c in cookies)
    dropped = [c for c in cookies if c.startswith(f"{login_csrf.COOKIE}=")]
    assert dropped
    assert "Max-Age=0" in dropped[0] or "expires=" in dropped[0].lower()


def test_tokens_of_a_previous_key_verify_while_keys_rotate(settings: Settings) -> None:
    nonce = "n" * 32
    old_key = "the-old-secret-key-0123456789"
    token = f"{nonce}.{login_csrf._mac(old_key, nonce)}"
    assert not login_csrf.valid(token, settings)
    rotating = settings.model_copy(update={"previous_secret_keys": [old_key]})
    assert login_csrf.valid(token, rotating)
    assert not login_csrf.valid("no-dot", rotating)
    assert not login_csrf.valid(f"{nonce}.{'0' * 64}", rotating)


def test_the_json_sign_in_cannot_be_posted_by_another_site(anon: TestClient, users: object) -> None:
    """A cross-site form or no-cors fetch can send text/plain only; that is no JSON body."""
    body = '{"username": "cdc", "password": "' + PASSWORD + '"}'
    r = anon.post("/api/v1/auth/login", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 422
    assert COOKIE not in r.headers.get("set-cookie", "")
