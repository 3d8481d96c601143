"""case review: cases held for review or voided, corrections, published bulletins

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-10 12:00:00

- ``case.status``: ``pending`` (held for review, not counted), ``counted``, ``voided``
  (核减); every existing case is counted.
- ``case_correction``: each review, void and correction with its reason and day.
- ``published_bulletin``: a day's bulletin as published, word for word.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.storage.types

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="counted")
        )
        batch.create_index("ix_case_status", ["status"])
    op.create_table(
        "case_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("city_code", sa.String(length=4), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", fangkong.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_correction_case_id", "case_correction", ["case_id"])
    op.create_index("ix_case_correction_day", "case_correction", ["day"])
    op.create_table(
        "published_bulletin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_code", sa.String(length=4), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", fangkong.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city_code", "day"),
    )


def downgrade() -> None:
    op.drop_table("published_bulletin")
    op.drop_index("ix_case_correction_day", table_name="case_correction")
    op.drop_index("ix_case_correction_case_id", table_name="case_correction")
    op.drop_table("case_correction")
    with op.batch_alter_table("case") as batch:
        batch.drop_index("ix_case_status")
        batch.drop_column("status")
