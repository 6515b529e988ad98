"""What the review backlog (a project's dashboard, the front page's review queue) looks
up per version: a "made from" edge table, ``rm_version_parents`` (one row per parent a
version names, indexed by parent), and an index on the decisions' version ids. Both
databases had built every standing decision and every parent list of the projects before
leaving a version out (80 ms for one project's dashboard on PostgreSQL at 1M events).

Rebuilds create both (projections/tables.py, the version_tree projection fills the
edges); this revision adds them to a live database and fills the edges from the
versions' JSON parent lists in SQL, without replaying the log. Index names of a rebuilt
generation carry a random token, so both directions look an index up by its columns.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""
from alembic import op

from migrations import indexes, version_parents

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

DECISIONS_BY_VERSION = (("rm_review_decisions", ("version_id",),
                         "ix_rm_review_decisions_1_m0017"),)


def upgrade() -> None:
    version_parents.create_and_fill()
    indexes.add(DECISIONS_BY_VERSION)


def downgrade() -> None:
    indexes.drop((*DECISIONS_BY_VERSION, version_parents.BY_PARENT))
    op.drop_table(version_parents.TABLE)
