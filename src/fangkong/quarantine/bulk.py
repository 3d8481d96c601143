"""What the day-scale paths share: Core bulk statements and loading rows back by key.

A bad day is thousands of orders, transitions, tests and transfers: each goes in as one
``executemany`` (no ORM bookkeeping per row) and is read back by its unique number —
RETURNING in parameter order would make SQLite insert row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from fangkong.clock import LOCAL_TZ
from fangkong.quarantine.models import QuarantineOrder, TransferTask
from fangkong.storage.db import Base

IN_BATCH = 5000  # ids per IN (…): well inside every database's limit on parameters


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def start_of(day: date) -> datetime:
    """Local midnight opening ``day``."""
    return datetime.combine(day, time(0), LOCAL_TZ)


M = TypeVar("M", QuarantineOrder, TransferTask)


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core bulk statements (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


def load_by(session: Session, model: type[M], key: Any, values: Sequence[object]) -> dict[str, M]:
    """Rows just inserted, as objects, by their unique number."""
    found: dict[str, M] = {}
    for i in range(0, len(values), IN_BATCH):
        for obj in session.scalars(select(model).where(key.in_(values[i : i + IN_BATCH]))):
            found[getattr(obj, key.key)] = obj
    return found
