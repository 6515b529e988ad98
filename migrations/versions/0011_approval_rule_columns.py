"""One approval rule (rules/approvals.py) for search and metrics: the decisions they
keep carry what the rule folds by (asset, channel, log position), and the metrics'
count of unrevoked approvals, which disagreed with the rule, is gone. Projects carry the
log position that created them, so lists of projects page from the read table (filled
here from the log).

Replays create the columns too (projections/tables.py); this revision adds them to the
live tables. Decisions recorded before it keep empty values (search then counts any
standing approval, as before) until ``lineage projections replay catalog metrics``
re-reads the log.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEX = "ix_rm_catalog_decisions_1_m0011"
METRIC_INDEX = "ix_rm_metric_decisions_0_m0011"


def upgrade() -> None:
    with op.batch_alter_table("rm_projects") as batch:
        batch.add_column(sa.Column("position", Position))
    op.execute("UPDATE rm_projects SET position = (SELECT e.position FROM events e WHERE "
               "e.stream_id = 'project-' || rm_projects.project_id AND e.stream_version = 1)")
    with op.batch_alter_table("rm_catalog_decisions") as batch:
        batch.add_column(sa.Column("asset_id", sa.String(36)))
        batch.add_column(sa.Column("channel", sa.String(80)))
    op.create_index(INDEX, "rm_catalog_decisions", ["asset_id", "position"])
    with op.batch_alter_table("rm_metric_decisions") as batch:
        batch.add_column(sa.Column("version_id", sa.String(36)))
        batch.add_column(sa.Column("channel", sa.String(80)))
        batch.add_column(sa.Column("position", Position))
    op.create_index(METRIC_INDEX, "rm_metric_decisions", ["asset_id", "position"])
    with op.batch_alter_table("rm_metric_assets") as batch:
        batch.drop_column("active_approvals")


def downgrade() -> None:
    with op.batch_alter_table("rm_metric_assets") as batch:
        batch.add_column(sa.Column("active_approvals", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.drop_index(METRIC_INDEX, "rm_metric_decisions")
    with op.batch_alter_table("rm_metric_decisions") as batch:
        batch.drop_column("position")
        batch.drop_column("channel")
        batch.drop_column("version_id")
    op.drop_index(INDEX, "rm_catalog_decisions")
    with op.batch_alter_table("rm_catalog_decisions") as batch:
        batch.drop_column("channel")
        batch.drop_column("asset_id")
    with op.batch_alter_table("rm_projects") as batch:
        batch.drop_column("position")
