"""Catalog documents indexed by (project_id, kind): free-text search within projects
narrows its hits by project, and finds the projects' asset documents, through this
index instead of scanning every project's documents (which grows with the history).

Replays create the index too (projections/tables.py); this revision adds it to the live
table of an existing database. Names of a replayed generation's indexes carry a random
token, so both directions look the index up by its columns.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "rm_catalog_docs"
COLUMNS = ["project_id", "kind"]


def _existing() -> list[str]:
    """Names of the indexes on exactly these columns (one after a replay or upgrade)."""
    return [index["name"] for index in sa.inspect(op.get_bind()).get_indexes(TABLE)
            if index["column_names"] == COLUMNS]


def upgrade() -> None:
    if not _existing():
        op.create_index("ix_rm_catalog_docs_2_m0005", TABLE, COLUMNS)


def downgrade() -> None:
    for name in _existing():
        op.drop_index(name, TABLE)
