"""The zone map in a real browser: the district boundaries drawn by ECharts, the zone with
a boundary as a polygon, the list with its countdown, a click through to the zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.deps import Store
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonCreate
from fangkong.policy import load_policy
from fangkong.zones import drawing
from tests.browser import Watched, app_at, chart_ready, serve, sign_in, watched_page
from tests.conftest import PASSWORD
from tests.quarantine import factories

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

NOW = datetime(2022, 3, 16, 4, 0, tzinfo=UTC)
DAY = date(2022, 3, 16)
CITY = bind("city", "3703")
USER = "zibo_hq"
# a small square in 周村区 (WGS-84)
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[117.86, 36.80], [117.88, 36.80], [117.88, 36.82], [117.86, 36.82], [117.86, 36.80]]
    ],
}


def _seed(store: Store) -> str:
    policy = load_policy("national-9")
    with store.sessions() as session:
        data = PersonCreate.model_validate(
            {
                "person_no": "P1",
                "name": "王小明",
                "district": "周村区",
                "street": "丝绸路街道",
                "community": "新建路社区",
                "compound": "丝绸苑小区",
                "building": "1号楼",
            }
        )
        sick = people_service.create_person(session, data=data, now=NOW, scope=CITY)
        factories.case(session, "C1", sick, reported_on=DAY)
        made = drawing.propose_zones(session, day=DAY, policy=policy, scope=CITY, now=NOW, by="t")
        for z in made:
            drawing.confirm(session, code=z.code, scope=CITY, effective_at=NOW, now=NOW, by="hq")
        drawing.edit(
            session,
            code=made[0].code,
            scope=CITY,
            reason="边界",
            now=NOW,
            by="hq",
            policy=policy,
            geometry=SQUARE,
        )
        auth.create_user(
            session,
            username=USER,
            password=PASSWORD,
            role_code="command",
            scope_kind="city",
            scope_code="3703",
            now=NOW,
        )
        session.commit()
        return made[0].code


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, str]]:
    app = app_at(tmp_path, NOW)
    code = _seed(app.state.store)
    with serve(app) as url:
        yield url, code


@pytest.fixture
def page(browser: Browser, live: tuple[str, str]) -> Iterator[Watched]:
    with watched_page(browser, live[0]) as watched:
        watched.page.goto("/login?next=/zones")
        sign_in(watched.page, USER, PASSWORD)
        yield watched


def test_the_zone_map(page: Watched, live: tuple[str, str], tmp_path: Path) -> None:
    p, code = page.page, live[1]
    assert p.url.endswith("/zones")
    chart_ready(p, "zone-map")
    option = p.evaluate(
        """() => {
            const o = echarts.getInstanceByDom(document.getElementById("zone-map")).getOption();
            const coloured = o.geo[0].regions.filter((r) => r.itemStyle && r.itemStyle.areaColor);
            return {regions: coloured.map((r) => r.name), shapes: o.series[0].data.length};
        }"""
    )
    assert option == {"regions": ["周村区"], "shapes": 1}
    row = p.locator(f"#zone-table tr[data-zone='{code}']")
    assert "高风险区" in row.inner_text()
    assert "7 天" in row.inner_text()
    p.screenshot(path=str(tmp_path / "zones-map.png"))  # docs/img/zones-map.png is one
    with p.expect_navigation():
        row.locator("a").click()
    assert "解除条件" in p.inner_text("#zone-conditions")
    assert page.errors == []
