"""Guest review links (the studio): the ``guest_links`` projection's tables, the links
of each project and the display names of the guests who came through them.

Frozen as the tables stood when written (see 0003); projections/tables.py describes the
current shape and tests/integration/test_migrations.py checks the two agree.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rm_guest_links",
        sa.Column("link_id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("asset_ids", sa.JSON, nullable=False),
        sa.Column("permission", sa.String(10), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        _time("expires_at", False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _time("created_at", False),
        sa.Column("position", Position, nullable=False),
        _time("revoked_at"),
        sa.Column("revoked_by", sa.String(80)),
    )
    op.create_index("ix_rm_guest_links_0_m0006", "rm_guest_links", ["project_id", "position"])
    op.create_table(
        "rm_guests",
        sa.Column("guest_id", sa.String(36), primary_key=True),
        sa.Column("link_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _time("joined_at", False),
    )
    # A new projection starts from position 0: its checkpoint row is created on first run.


def downgrade() -> None:
    op.drop_table("rm_guests")
    op.drop_index("ix_rm_guest_links_0_m0006", "rm_guest_links")
    op.drop_table("rm_guest_links")
