"""labs: the city's testing labs, which lab accounts are bound to

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "testing_lab",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_code", sa.String(length=4), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("registered_at", fangkong.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_lab")),
        sa.UniqueConstraint("code", name=op.f("uq_testing_lab_code")),
    )
    op.create_index(op.f("ix_testing_lab_city_code"), "testing_lab", ["city_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_testing_lab_city_code"), table_name="testing_lab")
    op.drop_table("testing_lab")
