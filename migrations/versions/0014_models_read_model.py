"""The ``models`` read model: each registered model or adapter at its latest registration
(its revision and earlier weights) and the model each tier runs, so GET /api/models
answers from read tables instead of folding the registry's stream.

Frozen as the shape stood when written (see 0003); the runner fills the new tables from
the whole log on its first catch-up, as it does for any projection without a checkpoint.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_models",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("family", sa.Text()),
        sa.Column("pipeline_class", sa.Text()),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("path", sa.Text()),
        sa.Column("config", sa.Text()),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("weights_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("previous_weights_hashes", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rm_model_tiers",
        sa.Column("tier", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rm_model_tiers")
    op.drop_table("rm_models")
    op.execute("DELETE FROM subscription_checkpoints WHERE name = 'models'")
