"""The migrations build exactly the tables the models declare: upgrading an empty store to
head and comparing it with the models finds nothing to add, drop or change."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

import fangkong.models  # noqa: F401  (every table on Base.metadata)
from fangkong.storage.db import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
