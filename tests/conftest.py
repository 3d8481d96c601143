"""Shared fixtures: a migrated store (SQLite by default, PostgreSQL when
``FANGKONG_TEST_DATABASE_URL`` is set, as CI does), a clean session per test, an app, the
system Chromium for browser tests (their helpers are in ``tests/browser.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, delete, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import fangkong.models  # noqa: F401  (every table on Base.metadata)
from fangkong.clock import FixedClock
from fangkong.config import Settings
from fangkong.main import create_app
from fangkong.storage.db import Base, create_store_engine, session_factory
from fangkong.storage.migrate import upgrade
from fangkong.web.screenshot import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("FANGKONG_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    tables: MetaData = Base.metadata
    with engine.begin() as conn:
        for table in reversed(tables.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on an empty store; everything it wrote is removed afterwards."""
    factory = session_factory(engine)
    s = factory()
    try:
        yield s
    finally:
        s.rollback()
        s.close()
        _wipe(engine)


SECRET = "test-secret-key-not-for-production"
PASSWORD = "persona-password-2022"

# Personas (healthchecks' alice/bob/charlie, for a city HQ): role, binding.
PERSONAS: dict[str, tuple[str, str, str]] = {
    "hq": ("command", "city", "3703"),
    "cdc": ("cdc", "city", "3703"),
    "zhangdian": ("district_officer", "district", "370303"),
    "zhoucun": ("district_officer", "district", "370306"),
    "worker": ("community_worker", "street", "370306001"),  # 周村区 丝绸路街道
    "site": ("site_staff", "site", "S01"),
    "lab": ("lab", "lab", "L01"),
    "venue": ("venue_device", "venue", "V01"),
    "hotline": ("hotline", "city", "3703"),
    "admin": ("admin", "city", "3703"),
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        now=NOW,
        secret_key=SECRET,
        cookie_secure=False,
    )


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # argon2's production cost makes every test user take ~0.1 s; the tests check the
    # logic, not the cost, so they hash with the cheapest parameters.
    from argon2 import PasswordHasher

    from fangkong.auth import service as auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def users(app: FastAPI, engine: Engine) -> dict[str, str]:
    """A user per persona, password ``PASSWORD`` (the venue device has none)."""
    from fangkong.auth import service as auth

    with session_factory(engine)() as s, s.begin():
        for name, (role, kind, code) in PERSONAS.items():
            auth.create_user(
                s,
                username=name,
                password=None if role == "venue_device" else PASSWORD,
                role_code=role,
                scope_kind=kind,
                scope_code=code,
                now=NOW,
            )
    return {name: name for name in PERSONAS}


@pytest.fixture
def tokens(app: FastAPI, settings: Settings, engine: Engine) -> dict[str, str]:
    """An API token per persona; returns persona -> bearer token."""
    from fangkong.auth import service as auth

    keys = auth.Keys.from_settings(settings)
    result: dict[str, str] = {}
    with session_factory(engine)() as s, s.begin():
        for name, (role, kind, code) in PERSONAS.items():
            result[name], _ = auth.create_token(
                s,
                name=f"{name}-token",
                role_code=role,
                scope_kind=kind,
                scope_code=code,
                now=NOW,
                keys=keys,
                created_by="tests",
            )
    return result


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Iterator[FastAPI]:
    application = create_app(settings)
    application.state.clock = FixedClock(NOW)
    yield application
    application.state.store.engine.dispose()
    _wipe(engine)


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    """A client with no credentials."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client_as(app: FastAPI, tokens: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """``client_as("zhoucun")``: a client that sends that persona's API token."""
    opened: list[TestClient] = []

    def make(persona: str) -> TestClient:
        c = TestClient(app, headers={"Authorization": f"Bearer {tokens[persona]}"})
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def client(client_as: Callable[[str], TestClient]) -> TestClient:
    """The city CDC epidemiologist (疾控流调): reads and writes cases and the registry,
    sees personal data, city-wide. Tests of access control use ``client_as`` and ``anon``."""
    return client_as("cdc")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The system Chromium through Playwright, for the tests marked ``browser``."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need the system Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
