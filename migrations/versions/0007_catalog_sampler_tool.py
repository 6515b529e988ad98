"""Catalog versions carry their sampler and the tool that made them, so search facets
by model, sampler and tool, and uploads are described by the recipe imported from their
metadata (AUTOMATIC1111, ComfyUI, InvokeAI) like generated versions by their own.

Replays create the columns too (projections/tables.py); this revision adds them to the
live table. Versions catalogued before it keep empty values until
``lineage projections replay catalog`` re-reads the log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "rm_catalog_versions"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("sampler", sa.String(80)))
        batch.add_column(sa.Column("tool", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("tool")
        batch.drop_column("sampler")
