"""Every role in a real browser: signing in lands on the role's own page, every entry of
its navigation opens without a console error or raw JSON, and no link a page renders leads
to a page the role may not open (403) or cannot find (404).

One store for the module, a small 淄博 with something on every page: a case with its
household contacts, a quarantine site with the day's plan and transfers, a mass round
applied, a home-monitoring order with a fever report, and one user per role as the demo
has them (``demo/users.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pyarrow as pa
import pytest

from fangkong.deps import Store
from fangkong.flows import accounts, quarantine_day, rounds
from fangkong.lake.layout import lake_root
from fangkong.monitoring import service as monitoring
from fangkong.policy import load_policy
from fangkong.testing import labs, results, samples
from fangkong.testing import service as testing
from fangkong.testing.fhir import LabResult, TubeResult
from tests.browser import Watched, app_at, serve, sign_in, watched_page
from tests.conftest import PASSWORD
from tests.monitoring.test_service import local, make_order
from tests.quarantine.factories import CITY, case, contact, resident, site

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
ROUND_START = datetime(2022, 3, 22, 22, 0, tzinfo=UTC)  # 06:00 on 23 March

# username, role, binding, the page signing in lands on
ROLES = (
    ("hq", "command", "city", "3703", "/"),
    ("cdc", "cdc", "city", "3703", "/"),
    ("zhoucun", "district_officer", "district", "370306", "/"),
    ("sichoulu", "community_worker", "street", "370306001", "/monitoring"),
    ("site01", "site_staff", "site", "S01", "/quarantine/sites/S01"),
    ("lab01", "lab", "lab", "L01", "/lab"),
    ("hotline", "hotline", "city", "3703", "/people"),
    ("admin", "admin", "city", "3703", "/admin/users"),
)
# Links that change something or leave the app are not followed.
SKIPPED = re.compile(r"^/(static/|logout|api/v1/openapi)")
LINKS_PER_PAGE = 30


def _seed(store: Store, lake: Path) -> None:
    policy = load_policy("zibo-2022-03")
    with store.sessions() as session:
        index = resident(session, "P-INDEX", household="HH-I")
        c1 = case(session, "ZC-1", index)
        for i in range(3):
            contact(session, c1, resident(session, f"P-H{i}", household="HH-A"))
        site(session, "S01", rooms={"101": 1, "999": 2, "10110": 2, "301": 3})
        quarantine_day.plan_day(
            session, day=NOW.date(), policy=policy, now=NOW, actor="cdc", scope=CITY
        )
        for i in range(8):
            resident(session, f"P-T{i}", name="孙小七", household=f"HH-T{i}")
        spec = testing.RoundSpec(
            code="ZC-R1",
            name="周村区全员核酸检测",
            city_code="3703",
            areas=["周村区"],
            starts_at=ROUND_START,
        )
        round_ = testing.create_round(
            session, spec, lake=lake, policy=policy, now=NOW, actor="cdc", scope=CITY
        )
        samples.add_samples(
            lake,
            "ZC-R1",
            pa.table(
                {
                    "person_id": [f"P-T{i}" for i in range(8)],
                    "tube_barcode": ["A"] * 4 + ["B"] * 4,
                    "tube_size": [5] * 8,
                    "point_code": ["P1"] * 8,
                    "sampled_at": [ROUND_START + timedelta(minutes=20 * i) for i in range(8)],
                }
            ),
        )
        at = ROUND_START + timedelta(hours=6)
        found = [
            LabResult("A", TubeResult.NEGATIVE, "淄博市疾控中心", at),
            LabResult("B", TubeResult.NEGATIVE, "淄博市疾控中心", at),
        ]
        results.import_results(lake, "ZC-R1", found, source="test")
        rounds.apply_round(session, round_, lake=lake, policy=policy, now=NOW, scope=CITY)
        watched = make_order(session, resident(session, "P-HOME", household="HH-H"))
        monitoring.record_report(
            session,
            order=watched,
            at=local(8),
            temperature=37.8,
            symptoms=(),
            channel="phone",
            entered_by="sichoulu",
            note=None,
            policy=policy,
            now=NOW,
        )
        labs.register_lab(session, city_code="3703", code="L01", name="市疾控检测实验室", now=NOW)
        for username, role, kind, code, _ in ROLES:
            accounts.create_user(
                session,
                username=username,
                password=PASSWORD,
                role_code=role,
                scope_kind=kind,
                scope_code=code,
                now=NOW,
            )
        session.commit()


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("roles")
    app = app_at(home, NOW, policy="zibo-2022-03")
    _seed(app.state.store, lake_root(home))
    with serve(app) as url:
        yield url


def _links(w: Watched) -> list[str]:
    hrefs: list[str] = w.page.eval_on_selector_all(
        "a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    return [h for h in hrefs if h.startswith("/") and not h.startswith("//")]


def _nav(w: Watched) -> list[str]:
    hrefs: list[str] = w.page.eval_on_selector_all(
        "header nav a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    return hrefs


def _shape(path: str) -> str:
    """Links that differ only in a number or a code lead to the same kind of page: one of
    each kind is enough."""
    parts = urlsplit(path)
    return re.sub(r"[0-9A-Za-z_-]*\d[0-9A-Za-z_-]*", "#", parts.path) + (
        "?" + "&".join(sorted(k.split("=")[0] for k in parts.query.split("&")))
        if parts.query
        else ""
    )


def _not_json(w: Watched, where: str) -> None:
    body = w.page.inner_text("body").strip()
    assert not body.startswith(("{", "[")), f"{where} shows raw JSON: {body[:200]}"


@pytest.mark.parametrize(("username", "home"), [(r[0], r[4]) for r in ROLES])
def test_each_role_lands_on_its_home_and_can_open_everything_it_is_shown(
    browser: Browser, live_url: str, username: str, home: str
) -> None:
    with watched_page(browser, live_url) as w:
        p = w.page
        p.goto("/login")
        sign_in(p, username, PASSWORD)
        assert urlsplit(p.url).path == home, f"{username} landed on {p.url}"
        _not_json(w, home)
        nav = _nav(w)
        assert nav, f"{username} has no navigation"
        pages = [home, *[h for h in nav if not SKIPPED.match(h) and h != home]]
        seen_shapes: set[str] = set()
        refused: list[str] = []
        for path in pages:
            response = p.goto(path)
            assert response is not None
            assert response.status == 200, f"{username}: {path} answered {response.status}"
            assert "text/html" in response.headers.get("content-type", ""), path
            _not_json(w, path)
            followed = 0
            for link in _links(w):
                if SKIPPED.match(link) or followed >= LINKS_PER_PAGE:
                    continue
                shape = _shape(link)
                if shape in seen_shapes:
                    continue
                seen_shapes.add(shape)
                followed += 1
                got = p.request.get(link, max_redirects=5)
                if got.status in (401, 403, 404) or "json" in got.headers.get("content-type", ""):
                    refused.append(f"{path} → {link}: {got.status}")
        assert not refused, f"{username} is shown links it cannot open: {refused}"
        assert not w.errors, f"{username}: {w.errors}"


def test_a_refused_page_is_a_chinese_page_with_the_way_home(
    browser: Browser, live_url: str
) -> None:
    with watched_page(browser, live_url) as w:
        p = w.page
        p.goto("/login")
        sign_in(p, "lab01", PASSWORD)
        response = p.goto("/cases")
        assert response is not None
        assert response.status == 403
        text = p.inner_text("main")
        assert "无权访问" in text
        assert "查看病例" in text
        assert p.get_attribute("main a.button", "href") == "/lab"
        response = p.goto("/cases/NO-SUCH-CASE")
        assert response is not None
        assert response.status in (403, 404)
        response = p.goto("/no/such/page")
        assert response is not None
        assert response.status == 404
        assert "未找到" in p.inner_text("main")
        _not_json(w, "/no/such/page")
        # The browser logs each refused document itself; nothing else may go wrong.
        assert not [e for e in w.errors if "Failed to load resource" not in e], w.errors
