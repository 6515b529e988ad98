"""SQLAlchemy Core tables of the event store (one MetaData shared with the read side)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# SQLite only gets 64-bit rowid aliases from INTEGER PRIMARY KEY, so positions use
# BigInteger on PostgreSQL and Integer on SQLite.
Position = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(80), nullable=False),
    Column("stream_type", String(40), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Json, nullable=False),
    Column("actor_id", String(80)),
    Column("correlation_id", String(80)),
    Column("causation_id", String(80)),
    Column("command_id", String(200)),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
    Index("ix_events_type_position", "event_type", "position"),
    # Reading a stream by version or "as of" a time uses uq_events_stream_version: within
    # a stream recorded_at never decreases, so "up to time T" is a prefix of the stream.
    # Every extra index is another page written per commit: none exists that no read
    # uses (migration 0016 dropped the stream-type index and the unique event id, which
    # the append makes itself; see events/append.py new_event_ids).
)

# One row (id = 1): the last position, its hash and recorded_at. Bumping it with
# UPDATE … RETURNING takes a row lock that serialises writers, so positions are
# gap-free and commit-ordered; keeping the last hash lets `verify` notice deleted tails.
event_head = Table(
    "event_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", Position, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Idempotency: a command id (client Idempotency-Key scoped by user, or a job id) and the
# positions it produced. The primary key makes a repeated command append nothing. An HTTP
# command also keeps its request ("POST /api/…") and the SHA-256 fingerprint of method,
# path, query and canonical body, so the same key sent with another request is refused.
event_commands = Table(
    "event_commands",
    metadata,
    Column("command_id", String(200), primary_key=True),
    Column("first_position", Position, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("request_route", String(300)),
    Column("request_digest", String(64)),
)

# Write-side index: which stream owns an entity that has no stream of its own (a version,
# comment, decision or pin lives in its asset's stream). Written in the append transaction.
entity_streams = Table(
    "entity_streams",
    metadata,
    Column("entity_id", String(80), primary_key=True),
    Column("stream_id", String(80), nullable=False),
)

GENESIS_HASH = "0" * 64

# A follower of the log (the relay, a projection) remembers how far it has read.
subscription_checkpoints = Table(
    "subscription_checkpoints",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("position", Position, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Step i of n of a running job: ephemeral, overwritten in place, never an event.
job_progress = Table(
    "job_progress",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("step", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("worker", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
