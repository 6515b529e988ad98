"""Two read models: ``templates`` (each project's templates at their current version and
every revision of each, for the template lists and the studio's templates page) and
``tier_costs`` (every recorded cost with its tier, and each project's prices per
compute-second, for cost per approved asset by tier and in money).

Frozen as the shape stood when written (see 0003); the runner fills the new tables from
the whole log on its first catch-up, as it does for any projection without a checkpoint.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("rm_templates", "rm_template_revisions", "rm_cost_jobs", "rm_cost_entries",
          "rm_cost_prices")


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rm_templates",
        sa.Column("template_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(80)),
        _time("created_at", False),
        _time("revised_at"),
    )
    op.create_index("ix_rm_templates_0_m0010", "rm_templates", ["project_id", "name"])
    op.create_table(
        "rm_template_revisions",
        sa.Column("template_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.String(80)),
        _time("recorded_at", False),
    )
    op.create_table(
        "rm_cost_jobs",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("tier", sa.String(10), nullable=False),
    )
    op.create_table(
        "rm_cost_entries",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("job_id", sa.String(36)),
        sa.Column("tier", sa.String(10)),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_index("ix_rm_cost_entries_0_m0010", "rm_cost_entries", ["asset_id"])
    op.create_table(
        "rm_cost_prices",
        sa.Column("project_id", sa.String(36), primary_key=True),
        sa.Column("draft", sa.Float()),
        sa.Column("final", sa.Float()),
        sa.Column("currency", sa.String(3)),
    )


def downgrade() -> None:
    for name in TABLES:
        op.execute(f'DROP TABLE IF EXISTS "{name}"')
    op.execute("DELETE FROM subscription_checkpoints WHERE name IN ('templates', 'tier_costs')")
