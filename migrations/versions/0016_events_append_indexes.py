"""Drop the two ``events`` indexes nothing reads through, each a b-tree page written by
every append: ``ix_events_stream_type_position`` (no query of the application filters
the log by stream type; ``read_all(stream_types=…)`` still works, scanning by position)
and ``uq_events_event_id`` (no query looks an event up by its id, and the append makes
the ids itself, time-ordered UUIDs with 74 random bits per append, so the constraint
guarded against nothing the append can do). ``ix_events_type_position`` stays: the relay
and the projections read the log by event type.

On SQLite, dropping the unique constraint rebuilds the table (a copy of every row, once).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_stream_type_position", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_event_id", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_unique_constraint("uq_events_event_id", ["event_id"])
    op.create_index("ix_events_stream_type_position", "events", ["stream_type", "position"])
