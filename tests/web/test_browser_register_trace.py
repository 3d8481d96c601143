"""The by-hand loop in a real browser: register a case for a registry person found by
their ID number, open its contacts, 开展流调, and the contacts appear."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.lake.layout import lake_root
from fangkong.people import service as people_service
from tests.browser import Watched, app_at, serve, sign_in, watched_page
from tests.cases.test_register_person import ID_NUMBER
from tests.conftest import PASSWORD
from tests.tracing.helpers import MARCH_8, local, person, stay, venue, workplace, write_scans

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
NOW = datetime(2022, 3, 9, 12, 0, tzinfo=UTC)


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Watched]:
    app = app_at(tmp_path, NOW, outbreak_start=None)
    with app.state.store.sessions() as s:
        workplace(s, "W1", ["车间"])
        person(s, "C1", household="HH1", workplace="W1", unit="车间")
        person(s, "H1", household="HH1")
        person(s, "U1", workplace="W1", unit="车间")
        person(s, "A", name="李小四")
        venue(s, "V1")
        people_service.get_person(
            s, person_no="C1", scope=bind("city", "3703")
        ).id_number = ID_NUMBER
        auth.create_user(
            s,
            username="cdc",
            password=PASSWORD,
            role_code="cdc",
            scope_kind="city",
            scope_code="3703",
            now=NOW,
        )
        s.commit()
    write_scans(
        lake_root(tmp_path),
        [stay("C1", "V1", local(MARCH_8, 10), 60), stay("A", "V1", local(MARCH_8, 10, 30), 60)],
    )
    with serve(app) as url, watched_page(browser, url) as watched:
        watched.page.goto("/login")
        sign_in(watched.page, "cdc", PASSWORD)
        yield watched


def test_register_a_registry_person_then_trace(page: Watched) -> None:
    p = page.page
    p.goto("/cases/new")
    p.fill("#f-person-q", ID_NUMBER)
    p.click('[data-pick-person="C1"]')
    assert p.input_value("#f-person_no") == "C1"
    assert "已选择" in p.inner_text("#person-chosen")
    p.fill("#f-case_no", "ZB-101")
    p.select_option("#f-classification", "confirmed")
    p.select_option("#f-origin", "local")
    p.select_option("#f-district", label="周村区")
    p.fill("#f-onset_on", "2022-03-08")
    p.fill("#f-reported_on", "2022-03-09")
    with p.expect_navigation():
        p.click("#save-case")
    assert p.url.endswith("/cases/ZB-101?done=created")
    with p.expect_navigation():
        p.click("#contacts-link")
    assert "共 0 人" in p.inner_text("main")
    with p.expect_navigation():
        p.click("#trace-form button[type=submit]")
    text = p.inner_text("main")
    assert "流调完成" in text
    assert "该病例未关联人员档案" not in text
    for no in ("H1", "U1", "A"):
        assert no in text
    assert page.errors == []
