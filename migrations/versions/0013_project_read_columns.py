"""GET /api/projects/{id} answers from the ``access`` read model: projects carry their
policies, channels, compute used and stream version (the ETag), members the position
that added them (the order they joined).

Replays create the columns too (projections/tables.py). This revision adds them to the
live tables and empties the access tables and checkpoint, so the runner's first catch-up
refills them from the log (it reads only project and user events: a short pass).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROJECT_COLUMNS = ("policies", "channels", "compute_used_seconds", "stream_version")


def _refill_access() -> None:
    for table in ("rm_members", "rm_projects", "rm_users"):
        op.execute(f"DELETE FROM {table}")
    op.execute("DELETE FROM subscription_checkpoints WHERE name = 'access'")


def upgrade() -> None:
    with op.batch_alter_table("rm_projects") as batch:
        batch.add_column(sa.Column("policies", sa.JSON()))
        batch.add_column(sa.Column("channels", sa.JSON()))
        batch.add_column(sa.Column("compute_used_seconds", sa.Float()))
        batch.add_column(sa.Column("stream_version", sa.Integer()))
    with op.batch_alter_table("rm_members") as batch:
        batch.add_column(sa.Column("position", Position))
    _refill_access()


def downgrade() -> None:
    with op.batch_alter_table("rm_members") as batch:
        batch.drop_column("position")
    with op.batch_alter_table("rm_projects") as batch:
        for column in reversed(PROJECT_COLUMNS):
            batch.drop_column(column)
