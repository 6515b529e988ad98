"""Read models: the first generation of every projection's live tables (version trees,
review state, catalog with its full-text index, audit log, metrics, access).

Projection tables are disposable: they are replayed from the event log, and
projections/tables.py describes their current shape for blue/green replays. This
revision is frozen as that shape stood when it was written (it imports nothing from the
live code, so later table changes cannot rewrite it); a later change to a read model is
a new revision, or rolled out with ``lineage projections replay NAME``.
tests/integration/test_migrations.py checks that the whole history still builds what
projections/tables.py describes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Secondary indexes as (table, columns). Replays name theirs with a random hex token;
# "m0003" can never be one, so names never collide with a later generation's.
INDEXES = (
    ("rm_members", ("user_id",)),
    ("rm_assets", ("project_id", "position")),
    ("rm_versions", ("asset_id", "position")),
    ("rm_review_comments", ("asset_id", "position")),
    ("rm_review_decisions", ("asset_id", "position")),
    ("rm_review_pins", ("asset_id", "position")),
    ("rm_catalog_versions", ("project_id", "created_at")),
    ("rm_catalog_versions", ("asset_id",)),
    ("rm_catalog_versions", ("created_at",)),
    ("rm_catalog_tags", ("project_id", "prefix")),
    ("rm_catalog_tags", ("asset_id",)),
    ("rm_catalog_tags", ("prefix",)),
    ("rm_catalog_decisions", ("version_id", "position")),
    ("rm_catalog_docs", ("version_id",)),
    ("rm_catalog_docs", ("asset_id",)),
    ("rm_audit_log", ("project_id", "position")),
    ("rm_audit_log", ("asset_id", "position")),
    ("rm_audit_log", ("actor_id", "position")),
    ("rm_audit_log", ("event_type", "position")),
    ("rm_audit_log", ("subject_id",)),
    ("rm_metric_assets", ("project_id",)),
)
TABLES = (
    "rm_projects", "rm_members", "rm_users",
    "rm_assets", "rm_versions",
    "rm_review_comments", "rm_review_decisions", "rm_review_pins",
    "rm_catalog_assets", "rm_catalog_versions", "rm_catalog_tags", "rm_catalog_decisions",
    "rm_catalog_docs",
    "rm_audit_log", "rm_audit_members",
    "rm_metric_assets", "rm_metric_decisions",
)


def upgrade() -> None:
    _create_tables()
    numbers: dict[str, int] = {}
    for table, columns in INDEXES:
        number = numbers[table] = numbers.get(table, -1) + 1
        op.create_index(f"ix_{table}_{number}_m0003", table, list(columns))
    # Full text over rm_catalog_docs: an FTS5 table on SQLite (rowid = doc_no), a
    # tsvector column with a GIN index on PostgreSQL.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE rm_catalog_fts USING fts5("
                   "body, tokenize = 'porter unicode61')")
    else:
        op.execute("ALTER TABLE rm_catalog_docs ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_rm_catalog_docs_tsv_m0003 ON rm_catalog_docs "
                   "USING gin (tsv)")


def _create_tables() -> None:
    # -- access
    op.create_table(
        "rm_projects",
        sa.Column("project_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rm_members",
        sa.Column("project_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
    )
    op.create_table(
        "rm_users",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
    )
    # -- version_tree
    op.create_table(
        "rm_assets",
        sa.Column("asset_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("brief", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(80)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
    )
    op.create_table(
        "rm_versions",
        sa.Column("version_id", sa.String(36), primary_key=True),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("parent_ids", sa.JSON(), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("author_id", sa.String(80), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(36)),
        sa.Column("cost_seconds", sa.Float(), nullable=False),
        sa.Column("derived_from", sa.String(36)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
    )
    # -- review_state
    op.create_table(
        "rm_review_comments",
        sa.Column("comment_id", sa.String(36), primary_key=True),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("region", sa.JSON()),
        sa.Column("parent_comment_id", sa.String(36)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(80)),
    )
    op.create_table(
        "rm_review_decisions",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(30), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("reviewer_id", sa.String(80), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(80)),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", sa.String(80)),
        sa.Column("revoke_reason", sa.Text()),
    )
    op.create_table(
        "rm_review_pins",
        sa.Column("pin_id", sa.String(36), primary_key=True),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("pinned_by", sa.String(80), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("unpinned_at", sa.DateTime(timezone=True)),
        sa.Column("unpinned_by", sa.String(80)),
    )
    # -- catalog
    op.create_table(
        "rm_catalog_assets",
        sa.Column("asset_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "rm_catalog_versions",
        sa.Column("version_id", sa.String(36), primary_key=True),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("asset_name", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("model_id", sa.String(200)),
        sa.Column("author_id", sa.String(80), nullable=False),
        sa.Column("seed", sa.String(40)),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("variation_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
    )
    op.create_table(
        "rm_catalog_tags",
        sa.Column("row_id", sa.String(60), primary_key=True),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(200), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("is_leaf", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "rm_catalog_decisions",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(30), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "rm_catalog_docs",
        sa.Column("doc_no", Position, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("version_id", sa.String(36)),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # -- audit
    op.create_table(
        "rm_audit_log",
        sa.Column("position", Position, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("project_id", sa.String(36)),
        sa.Column("asset_id", sa.String(36)),
        sa.Column("stream_id", sa.String(80), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("actor_id", sa.String(80)),
        sa.Column("actor_role", sa.String(20)),
        sa.Column("subject_id", sa.String(80)),
        sa.Column("version_id", sa.String(36)),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("channel", sa.String(80)),
        sa.Column("decision", sa.String(30)),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", sa.String(80)),
        sa.Column("revoke_reason", sa.Text()),
    )
    op.create_table(
        "rm_audit_members",
        sa.Column("project_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(80), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
    )
    # -- metrics
    op.create_table(
        "rm_metric_assets",
        sa.Column("asset_id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drafts", sa.Integer(), nullable=False),
        sa.Column("finals", sa.Integer(), nullable=False),
        sa.Column("version_cost_seconds", sa.Float(), nullable=False),
        sa.Column("compute_used_seconds", sa.Float(), nullable=False),
        sa.Column("compute_used_jobs", sa.Integer(), nullable=False),
        sa.Column("first_approved_at", sa.DateTime(timezone=True)),
        sa.Column("changes_before_approval", sa.Integer(), nullable=False),
        sa.Column("changes_requested", sa.Integer(), nullable=False),
        sa.Column("active_approvals", sa.Integer(), nullable=False),
    )
    op.create_table(
        "rm_metric_decisions",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("asset_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(30), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS rm_catalog_fts")  # (none on PostgreSQL)
    for table in TABLES:
        op.execute(f'DROP TABLE IF EXISTS "{table}"')
    op.execute("DELETE FROM subscription_checkpoints WHERE name IN "
               "('access', 'version_tree', 'review_state', 'catalog', 'audit', 'metrics')")
