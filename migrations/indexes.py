"""Indexes on read tables, added and dropped by their columns.

A replay (projections/tables.py) creates a new generation of read tables whose index
names carry a random token, so a revision cannot name the index it finds: it looks an
index up by its table and columns, creates one only where none exists, and drops
whichever it finds.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

# (table, columns, name to give an index this revision creates)
IndexSpec = tuple[str, tuple[str, ...], str]


def existing(table: str, columns: tuple[str, ...]) -> list[str]:
    """Names of the indexes on exactly these columns (one after a replay or upgrade)."""
    return [index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)
            if tuple(index["column_names"]) == tuple(columns)]


def add(indexes: Iterable[IndexSpec]) -> None:
    for table, columns, name in indexes:
        if not existing(table, columns):
            op.create_index(name, table, list(columns))


def drop(indexes: Iterable[IndexSpec]) -> None:
    for table, columns, _ in indexes:
        for name in existing(table, columns):
            op.drop_index(name, table)
