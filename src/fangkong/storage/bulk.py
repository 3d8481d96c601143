"""What the high-volume paths share: keys in batches, Core bulk statements, rows read back.

A bad day is thousands of orders, tests and transfers, and an import millions of rows: each
goes in as one ``executemany`` (no ORM bookkeeping per row) and is read back by its unique
number — RETURNING in parameter order would make SQLite insert row by row. Keys go into
``IN (…)`` lists in batches, well inside every database's limit on parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from fangkong.storage.db import Base

IN_BATCH = 5000  # keys per IN (…)

T = TypeVar("T")
M = TypeVar("M", bound=Base)


def chunks(items: Iterable[T], size: int = IN_BATCH) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core bulk statements."""
    return cast(Table, model.__table__)


def load_by(session: Session, model: type[M], key: Any, values: Sequence[object]) -> dict[str, M]:
    """Rows just inserted, as objects, by their unique number."""
    found: dict[str, M] = {}
    for batch in chunks(values):
        for obj in session.scalars(select(model).where(key.in_(batch))):
            found[getattr(obj, key.key)] = obj
    return found
