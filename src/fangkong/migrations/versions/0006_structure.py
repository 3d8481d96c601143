"""structure: bindings carry a community's street, rounds name their site by code,
quarantine swabs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00

- ``user_account.scope_street`` / ``api_token.scope_street``: a community binding carries its
  street, so that the auth domain builds a jurisdiction without reading the registry.
- ``testing_round.site_code`` replaces ``site_id``: testing names a quarantine site by its
  code (as a ``site`` binding does) instead of pointing into quarantine's table.
- ``quarantine_test`` becomes ``quarantine_swab`` (a swab an order schedules: a name that
  cannot be mistaken for the test suite). Rows are copied; ids are kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SWAB_COLUMNS = (
    "id, order_id, due_on, stage, number, two_labs, state, round_code, sampled_at, resulted_at"
)


def _swab_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("two_labs", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("round_code", sa.String(length=64), nullable=True),
        sa.Column("sampled_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resulted_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["quarantine_order.id"],
            name=op.f(f"fk_{name}_order_id_quarantine_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("order_id", "due_on", "stage", name=op.f(f"uq_{name}_order_id")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        for column in ("due_on", "order_id", "round_code", "state"):
            batch_op.create_index(batch_op.f(f"ix_{name}_{column}"), [column], unique=False)


def _move_swabs(source: str, target: str) -> None:
    _swab_table(target)
    op.execute(f"INSERT INTO {target} ({_SWAB_COLUMNS}) SELECT {_SWAB_COLUMNS} FROM {source}")
    with op.batch_alter_table(source, schema=None) as batch_op:
        for column in ("due_on", "order_id", "round_code", "state"):
            batch_op.drop_index(batch_op.f(f"ix_{source}_{column}"))
    op.drop_table(source)
    if op.get_bind().dialect.name == "postgresql":  # ids kept: the sequence follows them
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {target}), 0) + 1, false)"
        )


def upgrade() -> None:
    for table in ("user_account", "api_token"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("scope_street", sa.String(length=9), nullable=True))
        op.execute(
            f"UPDATE {table} SET scope_street = (SELECT street_code FROM community "
            f"WHERE CAST(community.id AS VARCHAR(32)) = {table}.scope_code) "
            f"WHERE scope_kind = 'community'"
        )

    with op.batch_alter_table("testing_round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_code", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE testing_round SET site_code = (SELECT code FROM quarantine_site "
        "WHERE quarantine_site.id = testing_round.site_id) WHERE site_id IS NOT NULL"
    )
    with op.batch_alter_table("testing_round", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_testing_round_site_id_quarantine_site"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_testing_round_site_id"))
        batch_op.drop_column("site_id")
        batch_op.create_index(batch_op.f("ix_testing_round_site_code"), ["site_code"], unique=False)

    _move_swabs("quarantine_test", "quarantine_swab")


def downgrade() -> None:
    _move_swabs("quarantine_swab", "quarantine_test")

    with op.batch_alter_table("testing_round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE testing_round SET site_id = (SELECT id FROM quarantine_site "
        "WHERE quarantine_site.code = testing_round.site_code) WHERE site_code IS NOT NULL"
    )
    with op.batch_alter_table("testing_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testing_round_site_code"))
        batch_op.drop_column("site_code")
        batch_op.create_index(batch_op.f("ix_testing_round_site_id"), ["site_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_testing_round_site_id_quarantine_site"),
            "quarantine_site",
            ["site_id"],
            ["id"],
        )

    for table in ("api_token", "user_account"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("scope_street")
