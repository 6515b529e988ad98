"""The "made from" edge table of revisions 0017 to 0019, ``rm_version_parents``: one row
per parent a version names, filled in SQL from the versions' JSON parent lists. 0017
adds it and 0019's downgrade brings it back after 0019 turned it into counts.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import indexes

TABLE = "rm_version_parents"
BY_PARENT: indexes.IndexSpec = (TABLE, ("parent_id",), "ix_rm_version_parents_0_m0017")


def create_and_fill() -> None:
    """Create the table, fill it from ``rm_versions.parent_ids`` and index it by parent."""
    op.create_table(
        TABLE,
        sa.Column("version_id", sa.String(36), primary_key=True),
        sa.Column("parent_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False))
    unnest = ("json_array_elements_text(v.parent_ids)"
              if op.get_bind().dialect.name == "postgresql" else "json_each(v.parent_ids)")
    op.execute(f"INSERT INTO {TABLE} (version_id, parent_id, project_id) SELECT DISTINCT "
               f"v.version_id, p.value, v.project_id FROM rm_versions v, {unnest} p")
    indexes.add([BY_PARENT])
