"""zones: risk zones, their units, periods, events and screening rounds; reopening
decisions; points on compounds, buildings and venues

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00

- ``risk_zone`` (+ ``risk_zone_unit``, ``risk_zone_period``, ``risk_zone_event``): a zone,
  its extent in registry units, its level over local days, and its history.
- ``zone_screening``: a screening round of a zone on a day (what lifting waits for).
- ``zone_round``: a testing round targeting a zone (its screening is recorded on apply).
- ``reopening_decision`` / ``reopening_rule``: region × category, with conditions.
- ``compound``, ``building``, ``venue`` get ``lon``/``lat`` (WGS-84, nullable).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reopening_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("city_code", sa.String(length=4), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=128), nullable=False),
        sa.Column(
            "effective_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reopening_decision")),
        sa.UniqueConstraint("code", name=op.f("uq_reopening_decision_code")),
    )
    with op.batch_alter_table("reopening_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reopening_decision_city_code"), ["city_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reopening_decision_effective_at"), ["effective_at"], unique=False
        )

    op.create_table(
        "reopening_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("region_kind", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=16), nullable=False),
        sa.Column("zones", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("capacity_share", sa.Float(), nullable=True),
        sa.Column("temperature", sa.Boolean(), nullable=False),
        sa.Column("code_check", sa.Boolean(), nullable=False),
        sa.Column("mask", sa.Boolean(), nullable=False),
        sa.Column("test_within_hours", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["reopening_decision.id"],
            name=op.f("fk_reopening_rule_decision_id_reopening_decision"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reopening_rule")),
    )
    with op.batch_alter_table("reopening_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reopening_rule_decision_id"), ["decision_id"], unique=False
        )

    op.create_table(
        "risk_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("city_code", sa.String(length=4), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("edition", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("case_nos", sa.Text(), nullable=False),
        sa.Column("upgrade_of", sa.String(length=40), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=True),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("effective_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("venues", sa.Integer(), nullable=False),
        sa.Column("workplaces", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_risk_zone_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_zone")),
        sa.UniqueConstraint("code", name=op.f("uq_risk_zone_code")),
    )
    with op.batch_alter_table("risk_zone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_zone_city_code"), ["city_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_zone_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_zone_district_code"), ["district_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_zone_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_zone_proposed_on"), ["proposed_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_zone_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_zone_street_code"), ["street_code"], unique=False)

    op.create_table(
        "risk_zone_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_level", sa.String(length=16), nullable=True),
        sa.Column("to_level", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["risk_zone.id"], name=op.f("fk_risk_zone_event_zone_id_risk_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_zone_event")),
    )
    with op.batch_alter_table("risk_zone_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_zone_event_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "risk_zone_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("city_code", sa.String(length=4), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("downgraded", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["risk_zone.id"], name=op.f("fk_risk_zone_period_zone_id_risk_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_zone_period")),
    )
    with op.batch_alter_table("risk_zone_period", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_zone_period_city_code"), ["city_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_zone_period_ends_on"), ["ends_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_zone_period_starts_on"), ["starts_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_zone_period_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "risk_zone_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["risk_zone.id"], name=op.f("fk_risk_zone_unit_zone_id_risk_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_zone_unit")),
        sa.UniqueConstraint("zone_id", "kind", "ref", name=op.f("uq_risk_zone_unit_zone_id")),
    )
    with op.batch_alter_table("risk_zone_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_zone_unit_ref"), ["ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_zone_unit_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "zone_screening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("round_code", sa.String(length=64), nullable=False),
        sa.Column("sampled", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["risk_zone.id"], name=op.f("fk_zone_screening_zone_id_risk_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_screening")),
        sa.UniqueConstraint("zone_id", "day", "round_code", name=op.f("uq_zone_screening_zone_id")),
    )
    with op.batch_alter_table("zone_screening", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zone_screening_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_zone_screening_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "zone_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("round_code", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fangkong.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["risk_zone.id"], name=op.f("fk_zone_round_zone_id_risk_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_round")),
        sa.UniqueConstraint("zone_id", "round_code", name=op.f("uq_zone_round_zone_id")),
    )
    with op.batch_alter_table("zone_round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zone_round_round_code"), ["round_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_zone_round_zone_id"), ["zone_id"], unique=False)

    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))

    with op.batch_alter_table("compound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))

    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_column("lat")
        batch_op.drop_column("lon")

    with op.batch_alter_table("compound", schema=None) as batch_op:
        batch_op.drop_column("lat")
        batch_op.drop_column("lon")

    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.drop_column("lat")
        batch_op.drop_column("lon")

    with op.batch_alter_table("zone_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zone_round_zone_id"))
        batch_op.drop_index(batch_op.f("ix_zone_round_round_code"))

    op.drop_table("zone_round")
    with op.batch_alter_table("zone_screening", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zone_screening_zone_id"))
        batch_op.drop_index(batch_op.f("ix_zone_screening_day"))

    op.drop_table("zone_screening")
    with op.batch_alter_table("risk_zone_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_zone_unit_zone_id"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_unit_ref"))

    op.drop_table("risk_zone_unit")
    with op.batch_alter_table("risk_zone_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_zone_period_zone_id"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_period_starts_on"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_period_ends_on"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_period_city_code"))

    op.drop_table("risk_zone_period")
    with op.batch_alter_table("risk_zone_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_zone_event_zone_id"))

    op.drop_table("risk_zone_event")
    with op.batch_alter_table("risk_zone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_zone_street_code"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_status"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_proposed_on"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_level"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_district_code"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_community_id"))
        batch_op.drop_index(batch_op.f("ix_risk_zone_city_code"))

    op.drop_table("risk_zone")
    with op.batch_alter_table("reopening_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reopening_rule_decision_id"))

    op.drop_table("reopening_rule")
    with op.batch_alter_table("reopening_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reopening_decision_effective_at"))
        batch_op.drop_index(batch_op.f("ix_reopening_decision_city_code"))

    op.drop_table("reopening_decision")
