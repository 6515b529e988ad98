"""The ``asset_streams`` read model: one row per event of each asset's stream (its version
now or as of a time), the jobs each asset waits for and the metadata uploads imported, so
GET /api/assets/{id} (also ``?as_of=``) and GET /api/versions/{id} answer from read
tables with the tree and review tables instead of folding the asset's stream.

Frozen as the shape stood when written (see 0003); the runner fills the new tables from
the whole log on its first catch-up, as it does for any projection without a checkpoint.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("rm_asset_events", "rm_asset_jobs", "rm_version_imports")


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rm_asset_events",
        sa.Column("asset_id", sa.String(36), primary_key=True),
        sa.Column("stream_version", sa.Integer(), primary_key=True, autoincrement=False),
        _time("recorded_at", False),
    )
    op.create_table(
        "rm_asset_jobs",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("asset_id", sa.String(36), nullable=False),
        _time("requested_at", False),
        _time("done_at"),
    )
    op.create_index("ix_rm_asset_jobs_0_m0012", "rm_asset_jobs", ["asset_id"])
    op.create_table(
        "rm_version_imports",
        sa.Column("version_id", sa.String(36), primary_key=True),
        sa.Column("imported", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_rm_asset_jobs_0_m0012", "rm_asset_jobs")
    for table in reversed(TABLES):
        op.drop_table(table)
    op.execute("DELETE FROM subscription_checkpoints WHERE name = 'asset_streams'")
