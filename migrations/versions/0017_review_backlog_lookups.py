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
import sqlalchemy as sa
from alembic import op

from migrations import indexes

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEXES = (("rm_review_decisions", ("version_id",), "ix_rm_review_decisions_1_m0017"),
           ("rm_version_parents", ("parent_id",), "ix_rm_version_parents_0_m0017"))


def upgrade() -> None:
    op.create_table(
        "rm_version_parents",
        sa.Column("version_id", sa.String(36), primary_key=True),
        sa.Column("parent_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False))
    unnest = ("json_array_elements_text(v.parent_ids)"
              if op.get_bind().dialect.name == "postgresql" else "json_each(v.parent_ids)")
    op.execute("INSERT INTO rm_version_parents (version_id, parent_id, project_id) "
               f"SELECT DISTINCT v.version_id, p.value, v.project_id FROM rm_versions v, {unnest} p")
    indexes.add(INDEXES)


def downgrade() -> None:
    indexes.drop(INDEXES)
    op.drop_table("rm_version_parents")
