"""Indexes for read routes that must not grow with the log: searches without free text
page newest first along the catalog's positions, across every project or within some;
the front page reads each project's newest images along the versions' positions.

Replays create the indexes too (projections/tables.py); this revision adds them to the
live tables of an existing database. Names of a replayed generation's indexes carry a
random token, so both directions look an index up by its columns.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = (("rm_catalog_versions", ("position",), "ix_rm_catalog_versions_3_m0015"),
           ("rm_catalog_versions", ("project_id", "position"), "ix_rm_catalog_versions_4_m0015"),
           ("rm_versions", ("project_id", "position"), "ix_rm_versions_1_m0015"))


def _existing(table: str, columns: tuple[str, ...]) -> list[str]:
    """Names of the indexes on exactly these columns (one after a replay or upgrade)."""
    return [index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)
            if tuple(index["column_names"]) == columns]


def upgrade() -> None:
    for table, columns, name in INDEXES:
        if not _existing(table, columns):
            op.create_index(name, table, list(columns))


def downgrade() -> None:
    for table, columns, _ in INDEXES:
        for name in _existing(table, columns):
            op.drop_index(name, table)
