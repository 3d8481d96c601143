"""The main pages in Chromium under the Content-Security-Policy: signed in as the HQ (and
as the administrator for the admin pages), none may trip the policy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.cases import service
from fangkong.cases.schemas import CaseCreate
from tests.browser import Watched, app_at, chart_ready, serve, sign_in, watched_page
from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)
HQ_PAGES = [
    "/",
    "/cases",
    "/cases/C-01",
    "/cases/new",
    "/clusters",
    "/testing",
    "/quarantine",
    "/quarantine/orders",
    "/people",
    "/venues",
    "/workplaces",
    "/account/password",
    "/api/v1/docs",
]
ADMIN_PAGES = ["/admin/audit", "/admin/users"]
# Chromium reports each refusal as a DOM event and as a console error; both are kept.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    app = app_at(tmp_path, NOW, outbreak_start=None)
    with app.state.store.sessions() as session:
        for n, (district, day) in enumerate(
            [("周村区", date(2022, 3, 21)), ("淄川区", date(2022, 3, 22))], start=1
        ):
            data = CaseCreate.model_validate(
                {
                    "case_no": f"C-0{n}",
                    "district": district,
                    "classification": "confirmed",
                    "reported_on": day,
                    "name": "张三",
                }
            )
            service.create_case(session, data=data, now=NOW, scope=bind("city", "3703"))
        for username, role in (("hq", "command"), ("admin", "admin")):
            auth.create_user(
                session,
                username=username,
                password=PASSWORD,
                role_code=role,
                scope_kind="city",
                scope_code="3703",
                now=NOW,
            )
        session.commit()
    with serve(app) as url:
        yield url


@pytest.fixture
def watched(browser: Browser, base_url: str) -> Iterator[Watched]:
    with watched_page(browser, base_url) as w:
        w.page.add_init_script(RECORD_VIOLATIONS)
        yield w


def violations(w: Watched) -> list[str]:
    seen: list[str] = w.page.evaluate("window.__violations")
    return [*seen, *(e for e in w.errors if "Content Security Policy" in e)]


def hover_charts(p: Page) -> None:
    """Move over every chart, so that ECharts writes its tooltips into the page."""
    for canvas in p.query_selector_all("canvas"):
        box = canvas.bounding_box()
        if box:
            for share in (0.3, 0.5, 0.7):
                p.mouse.move(box["x"] + box["width"] * share, box["y"] + box["height"] / 2)
                p.wait_for_timeout(100)


def visit(w: Watched, pages: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in pages:
        w.errors.clear()
        response = w.page.goto(path)
        assert response is not None, path
        assert response.status == 200, path
        w.page.wait_for_load_state("networkidle")
        if path == "/":
            chart_ready(w.page, "curve")
            chart_ready(w.page, "map")
        if path == "/api/v1/docs":
            w.page.wait_for_selector(".opblock")  # Swagger UI has drawn the operations
        hover_charts(w.page)
        if problems := violations(w):
            found[path] = problems
    return found


def test_the_main_pages_trip_no_csp_rule(watched: Watched) -> None:
    p = watched.page
    p.goto("/login")
    assert violations(watched) == []
    sign_in(p, "hq", PASSWORD)
    assert p.url.endswith("/")
    assert visit(watched, HQ_PAGES) == {}
    p.goto("/account/password")
    p.click("form[action='/logout'] button")
    p.wait_for_url("**/login")
    sign_in(p, "admin", PASSWORD)
    assert visit(watched, ADMIN_PAGES) == {}
    assert [e for e in watched.errors if "pageerror" in e] == []


def test_a_refused_inline_style_is_caught(watched: Watched) -> None:
    """The check above can fail: an inline style element without the nonce is reported."""
    p = watched.page
    p.goto("/login")
    p.evaluate(
        """() => { const s = document.createElement("style");
                   s.textContent = "body { color: red }"; document.head.appendChild(s); }"""
    )
    p.wait_for_function("() => window.__violations.length > 0")
    assert any("style-src" in v for v in violations(watched))
