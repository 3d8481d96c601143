"""The testing pages in a real browser: the app under uvicorn, the system Chromium through
Playwright (as tests/web/test_browser.py): the progress chart, the htmx drill-down, the
list's forms with the session's CSRF token, creating a round."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest
from sqlalchemy import select

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.deps import Store
from fangkong.flows import rounds
from fangkong.lake.layout import lake_root
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonCreate
from fangkong.policy import load_policy
from fangkong.testing import results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.testing.models import Recall, RoundExemption
from tests.browser import Watched, app_at, chart_ready, serve, sign_in, watched_page
from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)
START = datetime(2022, 3, 20, 22, 0, tzinfo=UTC)  # 06:00 in Shanghai, 21 March
CITY = bind("city", "3703")
USER = "zibo_cdc"


def _seed(store: Store, lake: Path) -> None:
    """Ten residents of 新建路社区: pool A negative, pool B positive, P08 and P09 missing."""
    policy = load_policy("national-9")
    with store.sessions() as session:
        for i in range(10):
            data = PersonCreate.model_validate(
                {
                    "person_no": f"P{i:02d}",
                    "name": "孙小七",
                    "phone": "13853312345",
                    "district": "周村区",
                    "street": "丝绸路街道",
                    "community": "新建路社区",
                }
            )
            people_service.create_person(session, data=data, now=START, scope=CITY)
        session.flush()
        spec = service.RoundSpec(
            code="ZC-R1",
            name="周村区全员核酸检测",
            city_code="3703",
            areas=["周村区"],
            starts_at=START,
        )
        round_ = service.create_round(
            session, spec, lake=lake, policy=policy, now=NOW, actor="cdc", scope=CITY
        )
        samples.add_samples(
            lake,
            "ZC-R1",
            pa.table(
                {
                    "person_id": [f"P{i:02d}" for i in range(8)],
                    "tube_barcode": ["A"] * 4 + ["B"] * 4,
                    "tube_size": [5] * 8,
                    "point_code": ["P1"] * 8,
                    "sampled_at": [START + timedelta(minutes=50 * i) for i in range(8)],
                }
            ),
        )
        found = [
            LabResult("A", TubeResult.NEGATIVE, "淄博市疾控中心", START + timedelta(hours=8)),
            LabResult("B", TubeResult.POSITIVE, "淄博市疾控中心", START + timedelta(hours=8)),
        ]
        results.import_results(lake, "ZC-R1", found, source="test")
        rounds.apply_round(session, round_, lake=lake, policy=policy, now=NOW, scope=CITY)
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
    _seed(app.state.store, lake_root(tmp_path))
    with serve(app) as url:
        yield url, app.state.store


@pytest.fixture
def page(browser: Browser, live_url: tuple[str, Store]) -> Iterator[Watched]:
    with watched_page(browser, live_url[0]) as watched:
        watched.page.goto("/login?next=/testing")
        sign_in(watched.page, USER, PASSWORD)
        assert watched.page.url.endswith("/testing")
        yield watched


def _chart(p: Page) -> None:
    chart_ready(p, "progress-chart")


def test_round_chart_drill_down_and_list_actions(
    page: Watched, live_url: tuple[str, Store]
) -> None:
    p = page.page
    p.click("#round-table a[href='/testing/rounds/ZC-R1']")
    p.wait_for_url("**/testing/rounds/ZC-R1")
    _chart(p)
    series = p.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("progress-chart"))
                .getOption().series.map((s) => s.data)"""
    )
    assert sum(series[0]) == 8
    assert series[1][-1] == 8

    # htmx swaps the coverage table level by level; the address follows
    p.click("#coverage-table a:has-text('周村区')")
    p.wait_for_selector("#coverage-table[data-level='street']")
    assert "level=street" in p.url
    p.click("#coverage-table a:has-text('丝绸路街道')")
    p.wait_for_selector("#coverage-table[data-level='community']")
    with p.expect_navigation():
        p.click("#coverage-table a:has-text('未检名单')")
    assert p.locator("#person-table tbody tr").count() == 2

    row = p.locator("#person-P09")
    row.locator("select[name=reason]").select_option("travelling")
    with p.expect_navigation():
        row.locator("button").click()
    assert "已登记 P09 免检" in p.inner_text("#done")
    assert "已登记免检：外出" in p.inner_text("#person-P09")

    p.click("a:has-text('混管阳性待复核名单')")
    p.wait_for_selector("#person-P04")
    with p.expect_navigation():
        p.locator("#person-P04 button:has-text('已复采')").click()
    assert "已复采" in p.inner_text("#person-P04")
    store = live_url[1]
    with store.sessions() as session:
        assert session.scalar(select(RoundExemption.reason)) == "travelling"
        assert session.scalars(select(Recall.status).where(Recall.status == "resampled")).all() == [
            "resampled"
        ]
    assert page.errors == []


def test_creating_a_round_in_the_browser(page: Watched) -> None:
    p = page.page
    p.fill("#f-code", "ZC-R2")
    p.fill("#f-name", "丝绸路街道第二轮")
    p.fill("#f-starts_at", "2022-03-24T06:00")
    p.select_option("#f-pool_mode", "by_area")
    p.click("#f-areas summary:has-text('周村区')", position={"x": 4, "y": 8})  # the marker
    p.check("input[name=areas][value='370306001']")
    with p.expect_navigation():
        p.click("#create-round")
    assert p.url.endswith("/testing/rounds/ZC-R2?done=created")
    assert "轮次已创建" in p.inner_text("#done")
    assert "丝绸路街道" in p.inner_text("#round-areas")
    assert p.is_visible("#not-applied")
    assert page.errors == []
