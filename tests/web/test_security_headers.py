"""Security headers on every kind of answer; templates that a strict CSP lets render."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fangkong.web.security_headers import content_security_policy
from fangkong.web.templating import TEMPLATES

Clients = Callable[[str], TestClient]
CSP = re.compile(r"style-src 'self' 'nonce-([A-Za-z0-9_-]{20,})'")


def assert_secured(response: object, *, cached: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    where = f"{response.request.method} {response.request.url}"  # type: ignore[attr-defined]
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy, where
    assert "script-src 'self';" in policy, where
    assert "frame-ancestors 'none'" in policy, where
    assert "unsafe-inline" not in policy, where
    assert "unsafe-eval" not in policy, where
    assert headers["x-frame-options"] == "DENY", where
    assert headers["x-content-type-options"] == "nosniff", where
    assert headers["referrer-policy"] == "no-referrer", where
    if not cached:
        assert headers["cache-control"] == "no-store", where
    assert "server" not in headers, where


def test_pages_api_errors_and_files_carry_the_headers(anon: TestClient, client_as: Clients) -> None:
    cdc = client_as("cdc")
    answers = [
        anon.get("/login"),
        anon.get("/cases", follow_redirects=False),  # 303 to the sign-in page
        anon.get("/api/v1/cases"),  # 401
        cdc.get("/api/v1/cases"),  # personal data
        cdc.get("/cases"),
        cdc.get("/api/v1/cases/NOPE"),  # 404
        cdc.get("/api/v1/cases", params={"q": "a\x00"}),  # 422 from the NUL guard
        cdc.get("/api/v1/openapi.json"),
        anon.get("/healthz"),
    ]
    for response in answers:
        assert_secured(response)
    static = anon.get("/static/js/csrf.js")
    assert static.status_code == 200
    assert_secured(static, cached=True)
    assert static.headers.get("cache-control") != "no-store"  # scripts may be cached


def test_hsts_only_when_served_over_https(app: FastAPI, settings: object) -> None:
    from fangkong.main import create_app

    with TestClient(app) as plain:
        assert "strict-transport-security" not in plain.get("/login").headers
    secure = create_app(app.state.settings.model_copy(update={"cookie_secure": True}))
    try:
        with TestClient(secure, base_url="https://testserver") as client:
            assert client.get("/login").headers["strict-transport-security"].startswith("max-age=")
    finally:
        secure.state.store.engine.dispose()


def test_each_page_gets_its_own_nonce_and_its_styles_carry_it(client_as: Clients) -> None:
    cdc = client_as("cdc")
    first, second = cdc.get("/testing"), cdc.get("/testing")
    nonces = []
    for page in (first, second):
        assert page.status_code == 200
        found = CSP.search(page.headers["content-security-policy"])
        assert found
        nonces.append(found.group(1))
        styles = re.findall(r"<style([^>]*)>", page.text)
        assert styles, "the testing page has its own style element"
        assert all(f'nonce="{found.group(1)}"' in attrs for attrs in styles)
    assert nonces[0] != nonces[1]


def test_the_policy_names_the_nonce_once() -> None:
    policy = content_security_policy("abc")
    assert policy.count("'nonce-abc'") == 1
    assert "object-src 'none'" in policy
    assert "base-uri 'none'" in policy


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
STYLE_ELEMENT = re.compile(r"<style(?![^>]*nonce=\"\{\{ csp_nonce\(request\) \}\}\")[^>]*>")
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_templates_have_nothing_inline_the_policy_refuses() -> None:
    """No inline script, event handler or style attribute; a <style> element only with
    the request's nonce. (The browser test checks the pages as Chromium renders them.)"""
    problems = []
    for path in sorted(Path(TEMPLATES).rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        for name, pattern in (
            ("inline script", INLINE_SCRIPT),
            ("style element without the nonce", STYLE_ELEMENT),
            ("style attribute", STYLE_ATTRIBUTE),
            ("event handler attribute", HANDLER),
        ):
            if pattern.search(text):
                problems.append(f"{path.relative_to(TEMPLATES)}: {name}")
        if "javascript:" in text:
            problems.append(f"{path.relative_to(TEMPLATES)}: javascript: URL")
    assert problems == []


def test_the_checks_find_what_they_look_for() -> None:
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/a.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="d">{}</script>')
    assert STYLE_ELEMENT.search("<style>p{}</style>")
    assert not STYLE_ELEMENT.search('<style nonce="{{ csp_nonce(request) }}">')
    assert STYLE_ATTRIBUTE.search('<h2 style="margin:0">')
    assert HANDLER.search('<a onclick="x()">')


def test_the_api_reference_loads_nothing_from_elsewhere(anon: TestClient) -> None:
    page = anon.get("/api/v1/docs")
    assert page.status_code == 200
    assert_secured(page)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/static/") for s in sources), sources
    for source in sources:
        assert anon.get(source).status_code == 200, source


def test_an_internal_error_carries_the_headers_too(app: FastAPI) -> None:
    @app.get("/api/v1/boom-for-the-test")
    def boom() -> None:
        raise RuntimeError("an unexpected failure")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom-for-the-test")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "unexpected failure" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
