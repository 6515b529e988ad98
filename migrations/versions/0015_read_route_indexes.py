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
from migrations import indexes

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = (("rm_catalog_versions", ("position",), "ix_rm_catalog_versions_3_m0015"),
           ("rm_catalog_versions", ("project_id", "position"), "ix_rm_catalog_versions_4_m0015"),
           ("rm_versions", ("project_id", "position"), "ix_rm_versions_1_m0015"))


def upgrade() -> None:
    indexes.add(INDEXES)


def downgrade() -> None:
    indexes.drop(INDEXES)
