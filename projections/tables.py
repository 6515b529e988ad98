"""Read-model tables: logical definitions, and their physical copies for blue/green replays.

Every table is defined once here under its live name. A replay creates copies named
``<table>__next`` (:func:`physical_tables`), fills them from position 0 while the live
ones keep serving, then swaps them in one transaction (:func:`swap_tables`). Indexes are
created separately with a per-build token in their names, because index names are
schema-global on both databases and the old and new generation briefly coexist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from events.schema import Position

metadata = MetaData()
NEXT_SUFFIX = "__next"


def _time(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


# -- access: projects, members, users --------------------------------------------------

projects = Table(
    "rm_projects", metadata,
    Column("project_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    _time("created_at", False),
    Column("position", Position),  # 0011: lists of projects page by creation
    # 0013: GET /projects/{id} answers from here: policies (null: none set), channels
    # (name → minimum size), compute used, and the stream version (the ETag).
    Column("policies", JSON),
    Column("channels", JSON),
    Column("compute_used_seconds", Float),
    Column("stream_version", Integer),
)
members = Table(
    "rm_members", metadata,
    Column("project_id", String(36), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("position", Position),  # 0013: members in the order they joined
)
users = Table(
    "rm_users", metadata,
    Column("user_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("is_admin", Boolean, nullable=False),
)
# 0018: each removal of a delivery channel from a project, and when a channel of that
# name was set again (null: still removed); keyed by the removal's position. Reads ask
# which channels stood removed now or at a moment (rules/approvals.py: their approvals
# do not stand).
channel_removals = Table(
    "rm_channel_removals", metadata,
    Column("project_id", String(36), primary_key=True),
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("channel", String(80), nullable=False),
    _time("removed_at", False),
    _time("restored_at"),
)

# -- version trees ---------------------------------------------------------------------

assets = Table(
    "rm_assets", metadata,
    Column("asset_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("brief", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("created_by", String(80)),
    _time("created_at", False),
    Column("position", Position, nullable=False),
    # 0019: what a board card shows of the asset's versions, kept as they are made: how
    # many per tier, and the newest one.
    Column("draft_versions", Integer, nullable=False),
    Column("final_versions", Integer, nullable=False),
    Column("newest_version_id", String(36)),
)
versions = Table(
    "rm_versions", metadata,
    Column("version_id", String(36), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    Column("project_id", String(36), nullable=False),
    Column("parent_ids", JSON, nullable=False),
    Column("operation", String(20), nullable=False),
    Column("tier", String(10), nullable=False),
    Column("author_id", String(80), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("recipe", JSON, nullable=False),
    Column("note", Text, nullable=False),
    Column("job_id", String(36)),
    Column("cost_seconds", Float, nullable=False),
    Column("derived_from", String(36)),
    _time("created_at", False),
    Column("position", Position, nullable=False),
    Column("depth", Integer, nullable=False),
    # 0019: what the review backlog asks of each version, kept as the log goes: how many
    # versions of its own project were made from it, and how many decisions on it stand
    # (not revoked). A version waits for review while both are 0.
    Column("children", Integer, nullable=False),
    Column("standing_decisions", Integer, nullable=False),
)

# 0019: each project's asset count and newest asset's position, kept as assets are made,
# so the front page lists hundreds of projects (a global admin's) without counting every
# asset of the log.
project_assets = Table(
    "rm_project_assets", metadata,
    Column("project_id", String(36), primary_key=True),
    Column("assets", Integer, nullable=False),
    Column("newest_position", Position, nullable=False),
)

# -- asset streams: what the tree and review tables leave out --------------------------
# One row per event of an asset's stream (its version now or as of a time is the ETag of
# the asset and its versions), the jobs an asset waits for, and what an upload imported.

asset_events = Table(
    "rm_asset_events", metadata,
    Column("asset_id", String(36), primary_key=True),
    Column("stream_version", Integer, primary_key=True, autoincrement=False),
    _time("recorded_at", False),
)
asset_jobs = Table(
    "rm_asset_jobs", metadata,
    Column("job_id", String(36), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    _time("requested_at", False),
    _time("done_at"),
)
version_imports = Table(
    "rm_version_imports", metadata,
    Column("version_id", String(36), primary_key=True),
    Column("imported", JSON, nullable=False),
)

# -- review state ----------------------------------------------------------------------

comments = Table(
    "rm_review_comments", metadata,
    Column("comment_id", String(36), primary_key=True),
    Column("version_id", String(36), nullable=False),
    Column("asset_id", String(36), nullable=False),
    Column("author_id", String(80), nullable=False),
    Column("body", Text, nullable=False),
    Column("region", JSON),
    Column("parent_comment_id", String(36)),
    _time("created_at", False),
    Column("position", Position, nullable=False),
    _time("resolved_at"),
    Column("resolved_by", String(80)),
)
decisions = Table(
    "rm_review_decisions", metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("version_id", String(36), nullable=False),
    Column("asset_id", String(36), nullable=False),
    Column("decision", String(30), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("reviewer_id", String(80), nullable=False),
    Column("role", String(20), nullable=False),
    Column("channel", String(80)),
    Column("note", Text, nullable=False),
    _time("decided_at", False),
    Column("position", Position, nullable=False),
    _time("revoked_at"),
    Column("revoked_by", String(80)),
    Column("revoke_reason", Text),
)
pins = Table(
    "rm_review_pins", metadata,
    Column("pin_id", String(36), primary_key=True),
    Column("version_id", String(36), nullable=False),
    Column("asset_id", String(36), nullable=False),
    Column("label", String(200), nullable=False),
    Column("pinned_by", String(80), nullable=False),
    _time("pinned_at", False),
    Column("position", Position, nullable=False),
    _time("unpinned_at"),
    Column("unpinned_by", String(80)),
)

# -- catalog (search, taxonomy) --------------------------------------------------------
# Rows carry the times they became true and stopped being true, so a search "as of" a
# moment filters rows instead of re-folding the whole log.

catalog_versions = Table(
    "rm_catalog_versions", metadata,
    Column("version_id", String(36), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    Column("project_id", String(36), nullable=False),
    Column("asset_name", String(200), nullable=False),
    Column("operation", String(20), nullable=False),
    Column("tier", String(10), nullable=False),
    Column("model_id", String(200)),
    Column("author_id", String(80), nullable=False),
    Column("seed", String(40)),
    Column("prompt", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("variation_key", String(64), nullable=False),
    _time("created_at", False),
    Column("position", Position, nullable=False),
    # Sampler (a scheduler class, or another tool's sampler name) and the tool that made
    # the image ("lineage", or the tool whose metadata an upload carried): migration 0007.
    Column("sampler", String(80)),
    Column("tool", String(40)),
)
catalog_assets = Table(
    "rm_catalog_assets", metadata,
    Column("asset_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
)
catalog_tags = Table(
    "rm_catalog_tags", metadata,
    Column("row_id", String(60), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    Column("project_id", String(36), nullable=False),
    Column("tag", String(200), nullable=False),
    Column("prefix", String(200), nullable=False),
    Column("depth", Integer, nullable=False),
    Column("is_leaf", Boolean, nullable=False),
    _time("added_at", False),
    _time("removed_at"),
)
catalog_decisions = Table(
    "rm_catalog_decisions", metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("version_id", String(36), nullable=False),
    Column("decision", String(30), nullable=False),
    _time("decided_at", False),
    Column("position", Position, nullable=False),
    _time("revoked_at"),
    Column("asset_id", String(36)),  # 0011: the approval rule folds per asset and channel
    Column("channel", String(80)),
)
# Free-text documents (a version's prompt and note, an asset's name and brief, a comment);
# ``doc_no`` is the position of the event that wrote it, and the full-text index keys on it.
catalog_docs = Table(
    "rm_catalog_docs", metadata,
    Column("doc_no", Position, primary_key=True, autoincrement=False),
    Column("kind", String(10), nullable=False),
    Column("version_id", String(36)),
    Column("asset_id", String(36), nullable=False),
    Column("project_id", String(36), nullable=False),
    Column("body", Text, nullable=False),
    _time("created_at", False),
)

# -- audit -----------------------------------------------------------------------------

audit_log = Table(
    "rm_audit_log", metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    _time("recorded_at", False),
    Column("project_id", String(36)),
    Column("asset_id", String(36)),
    Column("stream_id", String(80), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("actor_id", String(80)),
    Column("actor_role", String(20)),
    Column("subject_id", String(80)),
    Column("version_id", String(36)),
    Column("content_hash", String(64)),
    Column("channel", String(80)),
    Column("decision", String(30)),
    Column("summary", Text, nullable=False),
    Column("details", JSON, nullable=False),
    _time("revoked_at"),
    Column("revoked_by", String(80)),
    Column("revoke_reason", Text),
)
audit_members = Table(
    "rm_audit_members", metadata,
    Column("project_id", String(36), primary_key=True),
    Column("user_id", String(80), primary_key=True),
    Column("role", String(20), nullable=False),
)

# -- guest review links ------------------------------------------------------------------

guest_links = Table(
    "rm_guest_links", metadata,
    Column("link_id", String(32), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("asset_ids", JSON, nullable=False),
    Column("permission", String(10), nullable=False),
    Column("label", String(200), nullable=False),
    _time("expires_at", False),
    Column("created_by", String(80), nullable=False),
    _time("created_at", False),
    Column("position", Position, nullable=False),
    _time("revoked_at"),
    Column("revoked_by", String(80)),
)
guests = Table(
    "rm_guests", metadata,
    Column("guest_id", String(36), primary_key=True),
    Column("link_id", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    _time("joined_at", False),
)

# -- templates -------------------------------------------------------------------------

templates = Table(
    "rm_templates", metadata,
    Column("template_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("negative_prompt", Text, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", String(80)),
    _time("created_at", False),
    _time("revised_at"),
)
template_revisions = Table(
    "rm_template_revisions", metadata,
    Column("template_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("prompt", Text, nullable=False),
    Column("negative_prompt", Text, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("author_id", String(80)),
    _time("recorded_at", False),
)

# -- the model registry ------------------------------------------------------------------

models = Table(
    "rm_models", metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("family", Text),
    Column("pipeline_class", Text),
    Column("spec", Text, nullable=False),
    Column("path", Text),
    Column("config", Text),
    Column("components", JSON, nullable=False),
    Column("files", JSON, nullable=False),
    Column("weights_hash", String(64), nullable=False),
    Column("source", Text),
    Column("revision", Integer, nullable=False),
    Column("previous_weights_hashes", JSON, nullable=False),
    _time("registered_at", False),
)
model_tiers = Table(
    "rm_model_tiers", metadata,
    Column("tier", String(20), primary_key=True),
    Column("name", String(64), nullable=False),
)

# -- compute per tier, and the project's prices ----------------------------------------

cost_jobs = Table(
    "rm_cost_jobs", metadata,
    Column("job_id", String(36), primary_key=True),
    Column("tier", String(10), nullable=False),
)
# One row per recorded cost: a job's compute (``job_id`` names it; its tier comes from
# rm_cost_jobs) or a version's own cost (``tier`` is the version's).
cost_entries = Table(
    "rm_cost_entries", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    Column("source", String(10), nullable=False),
    Column("job_id", String(36)),
    Column("tier", String(10)),
    Column("seconds", Float, nullable=False),
)
cost_prices = Table(
    "rm_cost_prices", metadata,
    Column("project_id", String(36), primary_key=True),
    Column("draft", Float),
    Column("final", Float),
    Column("currency", String(3)),
)

# -- metrics ---------------------------------------------------------------------------

metric_assets = Table(
    "rm_metric_assets", metadata,
    Column("asset_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    _time("created_at", False),
    Column("drafts", Integer, nullable=False),
    Column("finals", Integer, nullable=False),
    Column("version_cost_seconds", Float, nullable=False),
    Column("compute_used_seconds", Float, nullable=False),
    Column("compute_used_jobs", Integer, nullable=False),
    _time("first_approved_at"),
    Column("changes_before_approval", Integer, nullable=False),
    Column("changes_requested", Integer, nullable=False),
)
metric_decisions = Table(
    "rm_metric_decisions", metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    Column("decision", String(30), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("version_id", String(36)),
    Column("channel", String(80)),
    Column("position", Position),
)

# -- jobs ------------------------------------------------------------------------------

jobs = Table(
    "rm_jobs", metadata,
    Column("job_id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("asset_id", String(36), nullable=False),
    Column("requested_by", String(80), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("operation", String(20), nullable=False),
    Column("tier", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("input_version_id", String(36)),
    Column("version_ids", JSON, nullable=False),
    Column("cost_seconds", Float, nullable=False),
    Column("error_kind", String(80)),
    Column("error_message", Text),
    _time("requested_at", False),
    _time("started_at"),
    _time("finished_at"),
    Column("position", Position, nullable=False),
)
# Exponentially weighted sums of recorded step costs per (operation, tier): what a job's
# run time is predicted from (rules/job_estimate.py).
job_rates = Table(
    "rm_job_rates", metadata,
    Column("operation", String(20), primary_key=True),
    Column("tier", String(10), primary_key=True),
    Column("weight", Float, nullable=False),
    Column("sum_x", Float, nullable=False),
    Column("sum_y", Float, nullable=False),
    Column("sum_xx", Float, nullable=False),
    Column("sum_xy", Float, nullable=False),
    Column("samples", Integer, nullable=False),
)

# Secondary indexes: created per build with a token in their names (see module docstring).
INDEXES: dict[str, Sequence[Sequence[str]]] = {
    "rm_members": [("user_id",)],
    "rm_assets": [("project_id", "position")],
    # (project_id, position): the front page's newest images per project (migration 0015).
    "rm_versions": [("asset_id", "position"), ("project_id", "position")],
    "rm_asset_jobs": [("asset_id",)],
    "rm_review_comments": [("asset_id", "position")],
    # (version_id): one version's decisions (migration 0017).
    "rm_review_decisions": [("asset_id", "position"), ("version_id",)],
    "rm_review_pins": [("asset_id", "position")],
    # (position), (project_id, position): searches without free text page newest first
    # along them, across every project or within some (migration 0015).
    "rm_catalog_versions": [("project_id", "created_at"), ("asset_id",), ("created_at",),
                            ("position",), ("project_id", "position")],
    "rm_catalog_tags": [("project_id", "prefix"), ("asset_id",), ("prefix",)],
    "rm_catalog_decisions": [("version_id", "position"), ("asset_id", "position")],
    # (project_id, kind): free text within projects narrows its hits by project (and
    # finds the projects' asset documents) without scanning every project's documents.
    "rm_catalog_docs": [("version_id",), ("asset_id",), ("project_id", "kind")],
    "rm_audit_log": [("project_id", "position"), ("asset_id", "position"),
                     ("actor_id", "position"), ("event_type", "position"), ("subject_id",)],
    "rm_metric_assets": [("project_id",)],
    "rm_metric_decisions": [("asset_id", "position")],
    # Lists newest first per asset, per project and per requester.
    "rm_jobs": [("asset_id", "position"), ("project_id", "position"),
                ("requested_by", "position")],
    "rm_guest_links": [("project_id", "position")],
    "rm_templates": [("project_id", "name")],
    "rm_cost_entries": [("asset_id",)],
}


def physical_tables(logical: Iterable[Table], suffix: str = "") -> dict[str, Table]:
    """Tables to read and write, by logical name: the live ones, or copies named
    ``<name><suffix>`` (with their own MetaData so the two generations never mix)."""
    if not suffix:
        return {table.name: table for table in logical}
    copies = MetaData()
    return {table.name: table.to_metadata(copies, name=table.name + suffix)
            for table in logical}


APPLY_INDEXES = {("rm_audit_log", ("subject_id",)), ("rm_catalog_tags", ("asset_id",))}
"""Secondary indexes the apply functions themselves look rows up by: a replay needs them
from the start; the others serve queries and are built once the copy is filled."""


def create_tables(conn: Connection, tables: dict[str, Table], *,
                  query_indexes: bool = True) -> None:
    """Create ``tables`` (logical name → physical table) and their secondary indexes
    (those for queries only when ``query_indexes``; see :func:`create_query_indexes`)."""
    for table in tables.values():
        table.create(conn)
    _create_indexes(conn, tables, lambda key: query_indexes or key in APPLY_INDEXES)


def create_query_indexes(conn: Connection, tables: dict[str, Table]) -> None:
    """The indexes :func:`create_tables` left out with ``query_indexes=False`` (building
    them after a bulk fill is cheaper than maintaining them row by row)."""
    _create_indexes(conn, tables, lambda key: key not in APPLY_INDEXES)


def _create_indexes(conn: Connection, tables: dict[str, Table], wanted) -> None:  # noqa: ANN001
    token = uuid.uuid4().hex[:8]
    for logical, table in tables.items():
        for number, columns in enumerate(INDEXES.get(logical, ())):
            if not wanted((logical, tuple(columns))):
                continue
            # Plain DDL: an Index object would attach itself to the shared Table and be
            # copied, name and all, into the next generation.
            listed = ", ".join(f'"{table.c[column].name}"' for column in columns)
            conn.execute(text(f'CREATE INDEX "ix_{logical}_{number}_{token}" '
                              f'ON "{table.name}" ({listed})'))


def drop_tables(conn: Connection, tables: dict[str, Table]) -> None:
    for table in tables.values():
        conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))


def rename_table(conn: Connection, old: str, new: str) -> None:
    conn.execute(text(f'ALTER TABLE "{old}" RENAME TO "{new}"'))
