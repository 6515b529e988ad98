"""The ``access`` read model keeps each channel removal (``rm_channel_removals``: the
project, the removal's position and time, the channel, and when a channel of that name
was set again), so GETs of trees, review state and the studio's asset pages read which
channels stood removed from a table instead of folding the project's stream, and search
and ``lineage rebuild --all`` leave those channels' approvals out as well.

Rebuilds create the table too (projections/tables.py). This revision creates it and
empties the access tables and checkpoint, so the runner's first catch-up refills them,
removals included, from the log (it reads only project and user events: a short pass).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rm_channel_removals",
        sa.Column("project_id", sa.String(36), primary_key=True),
        sa.Column("position", Position, primary_key=True, autoincrement=False),
        sa.Column("channel", sa.String(80), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True)),
    )
    for table in ("rm_members", "rm_projects", "rm_users"):
        op.execute(f"DELETE FROM {table}")
    op.execute("DELETE FROM subscription_checkpoints WHERE name = 'access'")


def downgrade() -> None:
    op.drop_table("rm_channel_removals")
