"""Full-text search over ``rm_catalog_docs``: SQLite FTS5 or PostgreSQL tsvector + GIN.

One API for both: :func:`create_index` and :func:`create_search_index` (DDL for one
generation of the docs table),
:func:`add_document` (index one document), :func:`matching_docs` (a selectable of
``doc_no, score`` for a free-text query, higher score = better match).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import Connection, Table, column, func, literal_column, select, table, text
from sqlalchemy.sql import Select

WORD = re.compile(r"\w+", re.UNICODE)
CONFIG = "english"
MAX_TERMS = 16


def fts_table_name(docs: Table) -> str:
    """The FTS5 table that indexes one generation of the docs table."""
    return docs.name.replace("rm_catalog_docs", "rm_catalog_fts", 1)


def create_index(conn: Connection, docs: Table) -> None:
    """Create the full-text index for ``docs`` (after the table itself exists)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(
            f'CREATE VIRTUAL TABLE "{fts_table_name(docs)}" USING fts5('
            "body, tokenize = 'porter unicode61')"))
    else:
        conn.execute(text(f'ALTER TABLE "{docs.name}" ADD COLUMN tsv tsvector'))


def create_search_index(conn: Connection, docs: Table) -> None:
    """PostgreSQL's GIN index over the vectors (SQLite's FTS5 table is its own index).
    Separate from :func:`create_index` so a replay builds it once, after the bulk fill,
    instead of maintaining it document by document."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f'CREATE INDEX "ix_rm_catalog_docs_tsv_{uuid.uuid4().hex[:8]}" '
                          f'ON "{docs.name}" USING gin (tsv)'))


def drop_index(conn: Connection, docs: Table) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text(f'DROP TABLE IF EXISTS "{fts_table_name(docs)}"'))


def rename_index(conn: Connection, old_docs: Table, new_docs: Table) -> None:
    """Follow a rename of the docs table (PostgreSQL's column moves with its table)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f'ALTER TABLE "{fts_table_name(old_docs)}" '
                          f'RENAME TO "{fts_table_name(new_docs)}"'))


DOC_COLUMNS = ("doc_no", "kind", "version_id", "asset_id", "project_id", "body",
               "created_at")


def add_document(ctx: Any, docs_name: str, row: dict[str, Any]) -> None:  # noqa: ANN401
    """Buffer a document (a full row of the docs table ``docs_name``) and its index entry
    (``ctx`` is the runner's ApplyContext)."""
    if ctx.dialect != "postgresql":
        ctx.insert(docs_name, row)
        statement = ctx.statement(docs_name, "fts_insert", lambda t: text(
            f'INSERT INTO "{fts_table_name(t)}" (rowid, body) VALUES (:doc_no, :body)'))
        # Its own queue: the FTS table does not depend on the docs rows.
        ctx.queue(fts_table_name(ctx.t(docs_name)), statement,
                  {"doc_no": row["doc_no"], "body": row["body"]})
        return
    # PostgreSQL: the vector is computed in the same INSERT (one statement per document,
    # sent as executemany runs).
    statement = ctx.statement(docs_name, "insert_with_tsv", lambda t: text(
        f'INSERT INTO "{t.name}" ({", ".join(DOC_COLUMNS)}, tsv) VALUES ('
        + ", ".join(":" + c for c in DOC_COLUMNS) + f", to_tsvector('{CONFIG}', :body))"))
    ctx.queue(docs_name, statement, row)


def terms(query: str) -> list[str]:
    """The words of a free-text query (punctuation and operators are not syntax here)."""
    return WORD.findall(query.lower())[:MAX_TERMS]


def matching_docs(dialect: str, docs: Table, query: str) -> Select | None:
    """``doc_no, score`` of documents containing every word of ``query``; None when the
    query has no words."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        fts = table(fts_table_name(docs), column("rowid"), column("body"))
        expression = " ".join('"' + word + '"' for word in words)
        name = f'"{fts.name}"'
        return (select(literal_column("rowid").label("doc_no"),
                       (-func.bm25(literal_column(name))).label("score"))
                .select_from(fts)
                .where(literal_column(name).op("MATCH")(expression)))
    tsquery = func.plainto_tsquery(CONFIG, " ".join(words))
    tsv = literal_column(f'"{docs.name}".tsv')
    return (select(docs.c.doc_no, func.ts_rank(tsv, tsquery).label("score"))
            .where(tsv.op("@@")(tsquery)))
