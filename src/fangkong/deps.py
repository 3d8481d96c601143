"""FastAPI dependencies: settings, store session, clock, policy.

The app keeps its engine and session factory on ``app.state`` (set by ``create_app``), so
tests and the CLI can build apps on any store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from fangkong.clock import Clock, clock_from_settings
from fangkong.config import Settings
from fangkong.policy import Policy, load_policy
from fangkong.storage.db import POOL_CAPACITY, create_store_engine, session_factory
from fangkong.storage.migrate import ensure_current


@dataclass
class Store:
    engine: Engine
    sessions: sessionmaker[Session]


def open_store(settings: Settings) -> Store:
    """Connect to the configured store, creating and migrating it when needed."""
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url)
    ensure_current(engine)
    return Store(engine, session_factory(engine))


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request, committed when the handler returns without error."""
    store: Store = request.app.state.store
    session = store.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_clock(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", None) or clock_from_settings(
        request.app.state.settings.now
    )
    return clock


def get_policy(request: Request) -> Policy:
    return load_policy(request.app.state.settings.policy)


# At most this many requests hold a store session at once; the others wait on the event
# loop, not in a worker thread. A request takes its session's connection in one worker
# thread and needs another thread later (its endpoint, the commit): were requests allowed
# to wait for a connection inside threads, every thread could end up waiting for a
# connection held by a request that waits for a thread. Below the pool's capacity (the
# rest is for the readiness probe and the like) no thread ever waits for a connection; and
# below the thread pool's 40 threads, sessionless requests (/login, /healthz, static
# files) always find a thread. docs/operations.md has the whole argument.
REQUEST_SESSIONS = POOL_CAPACITY - 4

# scope="function": the session commits when the handler returns, before the response is
# sent, so a browser following a redirect after a write never arrives before the commit.
# Every user of the session must use this same dependency (the scope is part of FastAPI's
# cache key), so that a request has one session.
SessionDep = Annotated[
    Session, Depends(get_session, scope="function", max_concurrency=REQUEST_SESSIONS)
]
ClockDep = Annotated[Clock, Depends(get_clock)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
