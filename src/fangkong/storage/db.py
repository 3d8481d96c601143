"""Engine, declarative base and session handling.

SQLite is the zero-set-up default (a file under ``FANGKONG_HOME``); PostgreSQL is one
setting away. Nothing here or in the models may be specific to either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so Alembic migrations are the same on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Connections of one process's pool (docs/operations.md: why the server's thread pool,
# its request sessions and this pool cannot wait on each other).
POOL_SIZE = 10
POOL_OVERFLOW = 10
POOL_CAPACITY = POOL_SIZE + POOL_OVERFLOW

# How long a SQLite transaction waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_MODES = {"IMMEDIATE": "IMMEDIATE", "DEFERRED": "DEFERRED"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 driver opens transactions lazily, before the first write, which breaks
    # SAVEPOINTs (an import's all-or-nothing savepoint would become the outer transaction
    # and commit on release). Take transaction control away from the driver; the "begin"
    # listener below emits BEGIN itself (SQLAlchemy's documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    _sqlite_pragmas(dbapi_connection)


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock when the transaction starts, waiting up to the busy
    # timeout for it. A deferred transaction that reads and then writes would instead ask
    # for the lock mid-way, and fail at once ("database is locked") when another writer
    # committed after its first read: the busy timeout cannot help a stale snapshot.
    # SQLite has one writer at a time anyway; WAL still lets the backup's and the health
    # probe's connections read (``execution_options(sqlite_begin="DEFERRED")``).
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {SQLITE_BEGIN_MODES[mode]}")


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    # WAL lets readers work while one writer writes; foreign keys are off by default in
    # SQLite; busy_timeout turns a locked database into a short wait instead of an error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_store_engine(url: str) -> Engine:
    """The store's engine: ``POOL_SIZE`` + ``POOL_OVERFLOW`` connections at most (the
    server admits fewer requests with a session than that: ``deps.REQUEST_SESSIONS``)."""
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if url.startswith("sqlite"):
        memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:")
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, **({} if memory else pool)
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
