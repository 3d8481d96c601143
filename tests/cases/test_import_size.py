"""A case file of any size: more rows than a database takes parameters in one statement."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases.models import Case
from fangkong.flows import positives

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)
# SQLite's default limit on parameters in one statement (a build may raise it; this test
# lowers it back); PostgreSQL's is 65535.
SQLITE_DEFAULT_LIMIT = 32766
ROWS = SQLITE_DEFAULT_LIMIT + 234


def _file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_no", "district", "classification", "reported_on", "infector_case_no"])
    for i in range(rows):
        infector = f"BIG-{i - 1:06d}" if i % 100 == 1 else ""
        writer.writerow(
            [f"BIG-{i:06d}", "370303", "asymptomatic", f"2022-03-{1 + i % 20:02d}", infector]
        )
    return out.getvalue().encode()


@pytest.fixture
def widest(session: Session, engine: Engine) -> Iterator[list[int]]:
    """The most parameters any statement (or any row of an executemany) carried; on
    SQLite the connection is held to the default limit."""
    widest = [0]

    def count(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        one = params[0] if many and params else params
        widest[0] = max(widest[0], len(one) if one else 0)

    event.listen(engine, "before_cursor_execute", count)
    raw = session.connection().connection.dbapi_connection
    old = None
    if isinstance(raw, sqlite3.Connection):
        old = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_DEFAULT_LIMIT)
    try:
        yield widest
    finally:
        event.remove(engine, "before_cursor_execute", count)
        if old is not None:
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)
        session.rollback()
        _remove_cases(engine)


def _remove_cases(engine: Engine) -> None:
    """Tens of thousands of cases go at once: deleted one by one, each would be checked
    against every other case's infector link (not indexed)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text('TRUNCATE "case", daily_count CASCADE'))
        return
    raw = engine.raw_connection()  # autocommit (the store's pysqlite recipe): no BEGIN
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute('DELETE FROM "case"')
        cursor.execute("DELETE FROM daily_count")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()


def test_a_case_file_larger_than_the_parameter_limit_imports(
    session: Session, widest: list[int]
) -> None:
    data = _file(ROWS)
    city = bind("city", "3703")
    report = positives.import_cases(session, data=data, filename="big.csv", now=NOW, scope=city)
    assert report.added == ROWS
    assert report.rejected == 0
    # Imported again: every row is looked up, none changes.
    again = positives.import_cases(session, data=data, filename="big.csv", now=NOW, scope=city)
    assert (again.added, again.unchanged) == (0, ROWS)
    session.commit()
    assert session.scalar(select(func.count(Case.id))) == ROWS
    linked = session.scalar(select(func.count(Case.id)).where(Case.infector_case_id.is_not(None)))
    assert linked == len(range(1, ROWS, 100))
    assert widest[0] < SQLITE_DEFAULT_LIMIT
