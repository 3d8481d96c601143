"""Every GET route against personal data: declared, masked without ``person.pii.read``,
audited with it.

The walker calls every GET route of the application (API, pages, CSV, Excel and Word
downloads) on a demo-like store (``demo_town``) twice: as a city-wide epidemiologist
holding every permission but ``person.pii.read`` — no body may show an ID number, a phone
or an address below the compound — and as one holding it — a route declared ``FULL`` in
``pii_routes`` must then show them and leave a ``read_pii`` row in the audit log, any other
must still show none. A GET route missing from ``pii_routes`` fails.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fangkong.auth import service as auth
from fangkong.auth.deps import Public, Require
from fangkong.auth.jurisdiction import bind
from fangkong.auth.permissions import ROLES
from fangkong.clock import FixedClock
from fangkong.config import Settings
from fangkong.demo import testing as demo_testing
from fangkong.demo.cli import NOW
from fangkong.main import create_app
from fangkong.people.masking import mask_id_number, mask_phone
from fangkong.storage.db import session_factory
from fangkong.tracing import service as tracing
from tests.auth import demo_town
from tests.auth.pii_routes import ROUTES, Shows
from tests.auth.test_routes import api_routes, guards
from tests.conftest import SECRET, _wipe

WALKED = {p: s for p, s in ROUTES.items() if s.kind != "own"}


@pytest.fixture(scope="module")
def town(
    engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The store, the app on it, and a path parameter for each name a route uses."""
    home = tmp_path_factory.mktemp("pii-town")
    _wipe(engine)
    demo_town.build(engine, home)
    settings = Settings(
        home=home, database_url=database_url, now=NOW, secret_key=SECRET, cookie_secure=False
    )
    app = create_app(settings)
    app.state.clock = FixedClock(NOW)
    case = demo_town.scalar(
        engine,
        'SELECT c.case_no FROM "case" c JOIN contact t ON t.case_id = c.id '
        "GROUP BY c.case_no ORDER BY count(*) DESC, c.case_no LIMIT 1",
    )
    person = demo_town.scalar(
        engine,
        "SELECT min(p.person_no) FROM person p JOIN quarantine_order o ON o.person_id = p.id "
        "WHERE p.phone IS NOT NULL AND p.room IS NOT NULL AND p.household_id IS NOT NULL",
    )
    with session_factory(engine)() as s:
        first = tracing.clusters(s, scope=bind("city", "3703"))[0].first_case_no
    params = {
        "case_no": case,
        "first_case_no": first,
        "person_no": person,
        "household_no": demo_town.scalar(
            engine,
            "SELECT h.household_no FROM household h JOIN person p ON p.household_id = h.id "
            f"WHERE p.person_no = '{person}'",
        ),
        "order_no": demo_town.scalar(
            engine,
            "SELECT min(o.order_no) FROM quarantine_order o JOIN person p "
            f"ON p.id = o.person_id WHERE p.person_no = '{person}'",
        ),
        "site": demo_town.scalar(
            engine,
            "SELECT s.code FROM quarantine_site s JOIN quarantine_order o ON o.site_id = s.id "
            "GROUP BY s.code ORDER BY count(*) DESC, s.code LIMIT 1",
        ),
        "round": demo_testing.CODE,
        "which": "missing",
        "community_id": demo_town.scalar(
            engine,
            "SELECT community_id FROM quarantine_order WHERE status = 'in_home_monitoring' "
            "AND community_id IS NOT NULL GROUP BY community_id "
            "ORDER BY count(*) DESC, community_id LIMIT 1",
        ),
        "venue_code": demo_town.scalar(engine, "SELECT min(venue_code) FROM venue"),
        "workplace_no": demo_town.scalar(engine, "SELECT min(workplace_no) FROM workplace"),
        "city": "3703",
        "district": "370306",
        "person_id": demo_town.scalar(
            engine, f"SELECT id FROM person WHERE person_no = '{person}'"
        ),
        "zone": demo_town.scalar(
            engine, "SELECT min(code) FROM risk_zone WHERE status = 'in_force'"
        ),
        "decision": demo_town.scalar(engine, "SELECT min(code) FROM reopening_decision"),
        "zone_day": demo_town.NOW.date().isoformat(),
    }
    with TestClient(app):
        yield app, params
    app.state.store.engine.dispose()
    _wipe(engine)


def _token(engine: Engine, *, role_code: str, pii: bool) -> str:
    role = ROLES[role_code]
    with session_factory(engine)() as s, s.begin():
        raw, _ = auth.create_token(
            s,
            name=f"walker-{role_code}-{'pii' if pii else 'masked'}",
            role_code=role.code,
            scope_kind="city",
            scope_code="3703",
            now=NOW,
            keys=auth.Keys.from_settings(Settings(secret_key=SECRET)),
            created_by="tests",
            permissions=set(role.permissions) - (set() if pii else {"person.pii.read"}),
        )
    return raw


@pytest.fixture(scope="module")
def callers(
    town: tuple[FastAPI, dict[str, str]], engine: Engine
) -> Iterator[dict[str, TestClient]]:
    """An epidemiologist of the city with and without ``person.pii.read``, and the
    administrator (the audit log and the accounts; no personal data to read)."""
    app, _ = town
    made = {
        name: TestClient(
            app, headers={"Authorization": f"Bearer {_token(engine, role_code=role, pii=pii)}"}
        )
        for name, role, pii in (
            ("masked", "cdc", False),
            ("pii", "cdc", True),
            ("admin", "admin", False),
        )
    }
    yield made
    for client in made.values():
        client.close()


def caller(app: FastAPI, path: str, callers: dict[str, TestClient], name: str) -> TestClient:
    """The epidemiologist, or the administrator for what only an administrator may see."""
    needed = {
        g.permission
        for r in api_routes(app)
        if r.path == path and "GET" in r.methods
        for g in guards(r)
        if isinstance(g, Require)
    }
    return callers["admin"] if needed & {"audit.read", "users.manage"} else callers[name]


@pytest.fixture(scope="module")
def secrets(town: tuple[FastAPI, dict[str, str]], engine: Engine) -> demo_town.Secrets:
    return demo_town.secrets(engine)


def url(path: str, shows: Shows, params: dict[str, str], *extra: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "code":
            if path.startswith(("/api/v1/zones", "/zones")):
                return params["zone"]
            return params["round" if path.startswith(("/api/v1/testing", "/testing")) else "site"]
        return params[name]

    filled = re.sub(r"\{([^}]+)\}", value, path)
    query = "&".join(q for q in (shows.query, *extra) if q).format(**params)
    return f"{filled}?{query}" if query else filled


def body_text(content: bytes, content_type: str) -> str:
    """What a reader of the answer sees: cells of a workbook, the text of a document."""
    if "spreadsheetml" in content_type:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
        )
    if "wordprocessingml" in content_type:
        with zipfile.ZipFile(io.BytesIO(content)) as docx:
            return docx.read("word/document.xml").decode()
    return content.decode("utf-8-sig")


def fetch(client: TestClient, where: str) -> str:
    r = client.get(where, follow_redirects=False)
    assert r.status_code == 200, f"{where}: {r.status_code} {r.text[:300]}"
    return body_text(r.content, r.headers.get("content-type", ""))


def pii_reads(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'read_pii'"))
        return int(found.scalar() or 0)


def test_every_get_route_declares_what_it_shows(town: tuple[FastAPI, dict[str, str]]) -> None:
    app = town[0]
    served = {r.path for r in api_routes(app) if "GET" in r.methods}
    assert served - ROUTES.keys() == set(), "declare these in tests/auth/pii_routes.py"
    assert ROUTES.keys() - served == set(), "stale entries in tests/auth/pii_routes.py"


def test_only_public_routes_are_own(town: tuple[FastAPI, dict[str, str]]) -> None:
    app = town[0]
    public = {r.path for r in api_routes(app) if any(isinstance(g, Public) for g in guards(r))}
    assert {p for p, s in ROUTES.items() if s.kind == "own"} <= public


@pytest.mark.parametrize("path", sorted(WALKED))
def test_without_pii_read_nothing_is_unmasked(
    path: str,
    town: tuple[FastAPI, dict[str, str]],
    callers: dict[str, TestClient],
    secrets: demo_town.Secrets,
) -> None:
    shows = WALKED[path]
    body = fetch(caller(town[0], path, callers, "masked"), url(path, shows, town[1]))
    assert secrets.found_in(body) == [], path
    if shows.evidence:
        # The route does list persons of the store: it shows them masked.
        masked = {mask_id_number(v) for v in secrets.id_numbers}
        masked |= {mask_phone(v) for v in secrets.phones}
        assert any(m in body for m in masked if m), f"{path} lists nobody masked"


@pytest.mark.parametrize("path", sorted(WALKED))
def test_with_pii_read_every_full_read_is_audited(
    path: str,
    town: tuple[FastAPI, dict[str, str]],
    callers: dict[str, TestClient],
    secrets: demo_town.Secrets,
    engine: Engine,
) -> None:
    shows = WALKED[path]
    before = pii_reads(engine)
    body = fetch(caller(town[0], path, callers, "pii"), url(path, shows, town[1], shows.unmask))
    found = secrets.found_in(body)
    if shows.kind == "full":
        assert found, f"{path} shows nothing personal: declare it otherwise or fix the store"
        assert pii_reads(engine) > before, f"{path} showed {found} without an audit row"
    else:
        assert found == [], f"{path} shows {found}: mask it or declare it FULL and audit it"
