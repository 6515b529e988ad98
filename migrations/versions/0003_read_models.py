"""Read models: the live tables of every projection (version trees, review state, catalog
with its full-text index, audit log, metrics, access).

Projection tables are disposable: they are rebuilt from the event log. Their definition
lives in projections/tables.py so a blue/green rebuild creates exactly the same tables;
this revision creates the first generation, and a changed read model is rolled out with
``lineage projections rebuild NAME``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op

from projections.registry import create_live_storage, drop_live_storage

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_live_storage(op.get_bind())


def downgrade() -> None:
    drop_live_storage(op.get_bind())
    op.execute("DELETE FROM subscription_checkpoints WHERE name IN "
               "('access', 'version_tree', 'review_state', 'catalog', 'audit', 'metrics')")
