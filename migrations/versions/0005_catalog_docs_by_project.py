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
from migrations import indexes

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = (("rm_catalog_docs", ("project_id", "kind"), "ix_rm_catalog_docs_2_m0005"),)


def upgrade() -> None:
    indexes.add(INDEXES)


def downgrade() -> None:
    indexes.drop(INDEXES)
