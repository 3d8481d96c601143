"""The UI in a real browser: the app under uvicorn, the system Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.cases import service
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate
from fangkong.deps import Store
from tests.browser import Watched, app_at, chart_ready, serve, sign_in, watched_page
from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
USER = "zibo_cdc"  # an epidemiologist of the city CDC, who signs in through /login

SEED = [
    ("B-01", "周村区", None, "asymptomatic", "quarantine_site", date(2022, 3, 20)),
    ("B-02", "周村区", None, "asymptomatic", "quarantine_site", date(2022, 3, 20)),
    ("B-03", "淄川区", None, "confirmed", "community_screening", date(2022, 3, 21)),
    ("B-04", "周村区", "萌水镇", "asymptomatic", "quarantine_site", date(2022, 3, 21)),
    ("B-05", "周村区", None, "asymptomatic", "home_isolation", date(2022, 3, 22)),
]
BULLETIN_21 = (
    "3月21日0时至24时，淄博市报告新增本土确诊病例1例、本土无症状感染者1例，"
    "其中淄川区1例、文昌湖区1例。"
    "自3月20日至3月21日24时，淄博市累计报告本土确诊病例1例、本土无症状感染者3例。"
)
BULLETIN_22_BEFORE = (
    "3月22日0时至24时，淄博市报告新增本土无症状感染者1例，在周村区，为居家隔离人员。"
    "自3月20日至3月22日24时，淄博市累计报告本土确诊病例1例、本土无症状感染者4例。"
)
BULLETIN_22_AFTER = (
    "3月22日0时至24时，淄博市报告新增本土无症状感染者2例，其中淄川区1例、周村区1例。"
    "自3月20日至3月22日24时，淄博市累计报告本土确诊病例1例、本土无症状感染者5例。"
)


def _seed(store: Store) -> None:
    with store.sessions() as session:
        for case_no, district, street, classification, found_via, day in SEED:
            data = CaseCreate.model_validate(
                {
                    "case_no": case_no,
                    "district": district,
                    "street": street,
                    "classification": classification,
                    "found_via": found_via,
                    "reported_on": day,
                }
            )
            service.create_case(session, data=data, now=NOW, scope=bind("city", "3703"))
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


def _case_count(store: Store) -> int:
    with store.sessions() as session:
        return int(session.scalar(select(func.count(Case.id))) or 0)


class LiveServer:
    def __init__(self, url: str, store: Store) -> None:
        self.url = url
        self.store = store


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    app = app_at(tmp_path, NOW, outbreak_start=None)
    _seed(app.state.store)
    with serve(app) as url:
        yield LiveServer(url, app.state.store)


@pytest.fixture
def anonymous(browser: Browser, live_server: LiveServer) -> Iterator[Watched]:
    with watched_page(browser, live_server.url, grant=["clipboard-read", "clipboard-write"]) as w:
        yield w


@pytest.fixture
def page(anonymous: Watched) -> Watched:
    """A browser signed in as the city CDC user through the sign-in page."""
    p = anonymous.page
    p.goto("/login")
    sign_in(p, USER, PASSWORD)
    assert p.url.endswith("/")
    return anonymous


def test_an_anonymous_visit_lands_on_the_sign_in_page(anonymous: Watched) -> None:
    p = anonymous.page
    p.goto("/")
    assert "/login?next=%2F" in p.url
    assert p.is_visible("input[name=password]")
    sign_in(p, USER, "not the password")
    assert "用户名或密码错误" in p.inner_text("main")
    sign_in(p, USER, PASSWORD)
    assert p.url.endswith("/")  # back where the visit started
    assert p.is_visible("#bulletin-text")
    # The wrong password was answered 401, which Chromium logs; nothing else may appear.
    assert [e for e in anonymous.errors if "status of 401" not in e] == []


def _tile(page: Page, label: str) -> str:
    return page.locator(f'.tile[data-label="{label}"] .tile-value').inner_text()


def test_dashboard_day_bulletin_copy_and_charts(page: Watched) -> None:
    p = page.page
    p.goto("/")
    assert p.input_value("#day-input") == "2022-03-22"  # the last day with data
    assert p.inner_text("#bulletin-text") == BULLETIN_22_BEFORE

    p.fill("#day-input", "2022-03-21")
    with p.expect_navigation():
        p.click("#day-form button[type=submit]")
    assert "day=2022-03-21" in p.url
    assert p.inner_text("#bulletin-text") == BULLETIN_21
    assert _tile(p, "新增本土确诊") == "1"
    assert _tile(p, "社会面发现") == "1"

    p.click("#copy-bulletin")
    p.wait_for_selector("#copy-status:has-text('已复制')")
    assert p.evaluate("navigator.clipboard.readText()") == BULLETIN_21

    chart_ready(p, "curve")
    chart_ready(p, "map")
    curve = p.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("curve"))
                .getOption().xAxis[0].data"""
    )
    assert curve == ["2022-03-20", "2022-03-21", "2022-03-22"]
    shown = p.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("map"))
                .getOption().series[0].data"""
    )
    by_name = {d["name"]: d["value"] for d in shown}
    assert len(by_name) == 8
    # 文昌湖区 lies in 周村区: the map folds function zones into their host district.
    assert (by_name["淄川区"], by_name["周村区"]) == (1, 1)

    p.click("#map-total")
    p.wait_for_function(
        """() => echarts.getInstanceByDom(document.getElementById("map"))
                .getOption().series[0].data.find((d) => d.name === "周村区").value === 3"""
    )
    assert page.errors == []


def test_adding_a_case_changes_the_dashboard(page: Watched, live_server: LiveServer) -> None:
    p = page.page
    p.goto("/?day=2022-03-22")
    assert _tile(p, "新增本土无症状") == "1"
    assert p.inner_text("#bulletin-text") == BULLETIN_22_BEFORE

    p.goto("/cases/new")
    p.fill("#f-case_no", "B-10")
    p.check("#f-new_person")  # not in the registry: the form creates the person
    p.fill("#f-name", "王五")
    p.select_option("#f-classification", "asymptomatic")
    p.select_option("#f-origin", "local")
    p.select_option("#f-found_via", "community_screening")
    p.select_option("#f-district", label="淄川区")
    p.fill("#f-sampled_on", "2022-03-21")
    p.fill("#f-reported_on", "2022-03-22")
    with p.expect_navigation():
        p.click("#save-case")
    assert p.url.endswith("/cases/B-10?done=created")
    assert "病例已登记" in p.inner_text("#done")
    assert "淄川区" in p.inner_text("#case-facts")

    p.goto("/?day=2022-03-22")
    assert _tile(p, "新增本土无症状") == "2"
    assert _tile(p, "社会面发现") == "1"
    assert p.inner_text("#bulletin-text") == BULLETIN_22_AFTER
    chart_ready(p, "curve")
    assert _case_count(live_server.store) == len(SEED) + 1
    assert page.errors == []


def test_bad_form_shows_an_error_and_creates_nothing(
    page: Watched, live_server: LiveServer
) -> None:
    p = page.page
    p.goto("/cases/new")
    p.fill("#f-case_no", "bad no!")
    p.select_option("#f-classification", "confirmed")
    p.select_option("#f-district", label="张店区")
    p.fill("#f-reported_on", "")
    with p.expect_navigation():
        p.click("#save-case")
    assert p.is_visible("#form-errors")
    assert "只能包含" in p.inner_text('[data-error-for="case_no"]')
    assert "必填" in p.inner_text('[data-error-for="reported_on"]')
    assert p.input_value("#f-case_no") == "bad no!"  # what was typed stays
    assert _case_count(live_server.store) == len(SEED)
    # The refused form comes back as 422, which Chromium logs; nothing else may appear.
    assert [e for e in page.errors if "status of 422" not in e] == []


def test_case_list_filters_with_htmx(page: Watched) -> None:
    p = page.page
    p.goto("/cases")
    assert p.locator("#case-table tbody tr").count() == len(SEED)
    p.select_option("select[name=unit]", label="文昌湖区（功能区）")
    # A function, not an expression: Playwright evaluates an expression with eval, which the
    # page's Content-Security-Policy refuses.
    p.wait_for_function("() => document.querySelectorAll('#case-table tbody tr').length === 1")
    assert "B-04" in p.inner_text("#case-table")
    assert "unit=3703-wch" in p.url  # the filter is in the address, so it can be shared
    assert page.errors == []


def test_export_asks_for_a_reason_and_downloads_what_the_list_shows(page: Watched) -> None:
    p = page.page
    p.goto("/cases?unit=3703-wch")
    p.click("#case-export summary")
    with p.expect_download() as download:
        p.fill("#export-reason", "流调溯源")
        p.click("#export-submit")
    content = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert content.splitlines()[0].startswith("case_no,name,id_number")
    assert [line.split(",")[0] for line in content.splitlines()[1:]] == ["B-04"]
    assert page.errors == []
