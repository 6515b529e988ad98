"""The SHA-256 hash chain over the global log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from events.schema import GENESIS_HASH

__all__ = ["GENESIS_HASH", "canonical_json", "record_hash", "iso"]


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text; NaN and infinities are refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: the one text form of a time in the chain."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """hash = sha256(prev_hash || canonical_json(every column but ``hash``))."""
    record = {
        "position": row["position"],
        "event_id": row["event_id"],
        "stream_id": row["stream_id"],
        "stream_type": row["stream_type"],
        "stream_version": row["stream_version"],
        "event_type": row["event_type"],
        "schema_version": row["schema_version"],
        "payload": row["payload"],
        "actor_id": row["actor_id"],
        "correlation_id": row["correlation_id"],
        "causation_id": row["causation_id"],
        "command_id": row["command_id"],
        "occurred_at": iso(row["occurred_at"]),
        "recorded_at": iso(row["recorded_at"]),
        "prev_hash": prev_hash,
    }
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_json(record).encode("utf-8"))
    return digest.hexdigest()
