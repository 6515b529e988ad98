"""The jobs read model: one row per job for the job lists (per asset, per project, a
requester's own) and the recorded step costs run-time estimates are calibrated on.

Frozen as the shape stood when written (see 0003); the runner fills the new tables from
the whole log on its first catch-up, as it does for any projection without a checkpoint.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEXES = (("asset_id", "position"), ("project_id", "position"), ("requested_by", "position"))


def upgrade() -> None:
    op.create_table(
        "rm_jobs",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("input_version_id", sa.String(36)),
        sa.Column("version_ids", sa.JSON(), nullable=False),
        sa.Column("cost_seconds", sa.Float(), nullable=False),
        sa.Column("error_kind", sa.String(80)),
        sa.Column("error_message", sa.Text()),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("position", Position, nullable=False),
    )
    op.create_table(
        "rm_job_rates",
        sa.Column("operation", sa.String(20), primary_key=True),
        sa.Column("tier", sa.String(10), primary_key=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("sum_x", sa.Float(), nullable=False),
        sa.Column("sum_y", sa.Float(), nullable=False),
        sa.Column("sum_xx", sa.Float(), nullable=False),
        sa.Column("sum_xy", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
    )
    for number, columns in enumerate(INDEXES):
        op.create_index(f"ix_rm_jobs_{number}_m0006", "rm_jobs", list(columns))


def downgrade() -> None:
    op.execute('DROP TABLE IF EXISTS "rm_jobs"')
    op.execute('DROP TABLE IF EXISTS "rm_job_rates"')
    op.execute("DELETE FROM subscription_checkpoints WHERE name = 'jobs'")
