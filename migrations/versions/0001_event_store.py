"""Event store: events, event_head, event_commands, entity_streams.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", Position, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("stream_id", sa.String(80), nullable=False),
        sa.Column("stream_type", sa.String(40), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("actor_id", sa.String(80)),
        sa.Column("correlation_id", sa.String(80)),
        sa.Column("causation_id", sa.String(80)),
        sa.Column("command_id", sa.String(200)),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_type_position", "events", ["event_type", "position"])
    op.create_index("ix_events_stream_type_position", "events", ["stream_type", "position"])
    head = op.create_table(
        "event_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "position": 0, "hash": "0" * 64,
                           "recorded_at": datetime(1970, 1, 1)}])
    op.create_table(
        "event_commands",
        sa.Column("command_id", sa.String(200), primary_key=True),
        sa.Column("first_position", Position, nullable=False),
        sa.Column("last_position", Position, nullable=False),
    )
    op.create_table(
        "entity_streams",
        sa.Column("entity_id", sa.String(80), primary_key=True),
        sa.Column("stream_id", sa.String(80), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entity_streams")
    op.drop_table("event_commands")
    op.drop_table("event_head")
    op.drop_index("ix_events_stream_type_position", "events")
    op.drop_index("ix_events_type_position", "events")
    op.drop_table("events")
