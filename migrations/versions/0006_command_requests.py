"""Idempotency fingerprints: each HTTP command id keeps the request that first used it
(method and path) and a SHA-256 of method, path, query and canonical body, so the same
Idempotency-Key sent with a different request answers 409 instead of the first answer.

Rows written before this revision have neither (they are never compared).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_commands") as batch:
        batch.add_column(sa.Column("request_route", sa.String(300)))
        batch.add_column(sa.Column("request_digest", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("event_commands") as batch:
        batch.drop_column("request_digest")
        batch.drop_column("request_route")
