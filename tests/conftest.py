"""Shared fixtures: a migrated store (SQLite by default, PostgreSQL when
``FANGKONG_TEST_DATABASE_URL`` is set, as CI does), a clean session per test, an app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
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


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, database_url=database_url, now=NOW)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings)
    app.state.clock = FixedClock(NOW)
    with TestClient(app) as c:
        yield c
    app.state.store.engine.dispose()
    _wipe(engine)
