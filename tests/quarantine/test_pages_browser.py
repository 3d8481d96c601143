"""The quarantine pages in a real browser: the app under uvicorn, the system Chromium through
Playwright (as tests/web/test_browser.py): the board, a site's occupancy chart, the release
button and the transfer forms with the session's CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from fangkong.auth import service as auth
from fangkong.deps import Store
from fangkong.flows import quarantine_day
from fangkong.policy import load_policy
from fangkong.quarantine import placement
from fangkong.quarantine.models import TransferTask
from tests.browser import Watched, app_at, chart_ready, serve, sign_in, watched_page
from tests.conftest import PASSWORD

from .factories import CITY, case, contact, resident, site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
PLANNED = date(2022, 3, 17)
PLANNED_AT = datetime(2022, 3, 17, 2, 0, tzinfo=UTC)
USER = "zibo_cdc"


def _seed(store: Store) -> None:
    """A household of three delivered to S01 on 17 March (released today if its tests
    allow), a person alone still waiting for the transfer."""
    with store.sessions() as session:
        c1 = case(session, "C1", resident(session, "P-INDEX"))
        for i in range(3):
            contact(session, c1, resident(session, f"P-H{i}", household="HH-A"))
        contact(session, c1, resident(session, "P-SOLO"))
        site(session, "S01", rooms={"301": 3, "101": 1})
        plan = quarantine_day.plan_day(
            session,
            day=PLANNED,
            policy=load_policy("national-9"),
            now=PLANNED_AT,
            actor="cdc",
            scope=CITY,
        )
        for task in plan.placement.transfers:
            if task.persons == 3:
                placement.transfer_done(session, task, now=PLANNED_AT, actor="s01")
        auth.create_user(
            session,
            username=USER,
            password=PASSWORD,
            role_code="cdc",
            scope_kind="city",
            scope_code="3703",
            now=NOW,
        )
        session.commit()


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    app = app_at(tmp_path, NOW)
    _seed(app.state.store)
    with serve(app) as url:
        yield url, app.state.store


@pytest.fixture
def page(browser: Browser, live_url: tuple[str, Store]) -> Iterator[Watched]:
    with watched_page(browser, live_url[0]) as watched:
        watched.page.goto("/login?next=/quarantine")
        sign_in(watched.page, USER, PASSWORD)
        assert watched.page.url.endswith("/quarantine")
        yield watched


def _chart(p: Page) -> None:
    chart_ready(p, "occupancy-chart")


def test_board_site_chart_and_buttons(page: Watched, live_url: tuple[str, Store]) -> None:
    p = page.page
    assert p.inner_text("[data-figure='in_quarantine'] dd") == "3"
    assert p.inner_text("[data-figure='pending_transfer'] dd") == "1"
    assert p.locator("#release-table tbody tr").count() == 3
    assert p.is_visible("nav a[href='/quarantine'][aria-current='page']")

    # the site: its occupancy line from the day the household arrived
    with p.expect_navigation():
        p.click("#occupancy-table a:has-text('S01隔离点')")
    assert "/quarantine/sites/S01" in p.url
    _chart(p)
    option = p.evaluate(
        """() => {
            const o = echarts.getInstanceByDom(document.getElementById("occupancy-chart"))
                .getOption();
            return { days: o.xAxis[0].data, persons: o.series[0].data };
        }"""
    )
    assert option["days"][-1] == "3/23"
    assert option["persons"][option["days"].index("3/17")] == 3
    assert p.locator("#worklist-table tbody tr").count() == 4

    # back on the board: dispatch the waiting transfer, then release the day
    with p.expect_navigation():
        p.click("a:has-text('返回转运隔离')")
    row = p.locator("#transfer-table tbody tr").first
    row.locator("input[name=vehicle]").fill("鲁C12345")
    row.locator("input[name=team]").fill("周村转运一组")
    with p.expect_navigation():
        row.locator("button:has-text('保存')").click()
    assert "已更新转运任务" in p.inner_text("#done")
    assert p.input_value("#transfer-table input[name=vehicle]") == "鲁C12345"
    with p.expect_navigation():
        p.click("#release-day")
    assert p.inner_text("#held-count") == "3"  # no test was taken: all held, with why
    assert "未采样" in p.inner_text("#held-table")
    with live_url[1].sessions() as session:
        vehicle = session.scalar(
            select(TransferTask.vehicle).where(TransferTask.status == "pending")
        )
        assert vehicle == "鲁C12345"
    assert page.errors == []
