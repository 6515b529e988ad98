"""The SHA-256 hash chain over the global log.

hash = sha256(prev_hash || canonical_json(record)), where the record is every column of
the row but ``hash`` itself, with times as UTC ISO-8601 text.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from events.schema import GENESIS_HASH

__all__ = ["GENESIS_HASH", "canonical_json", "record_hash", "iso"]

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False).encode
_encode_str = json.encoder.encode_basestring  # the C encoder, as ensure_ascii=False uses


def _text(value: str | None) -> str:
    return "null" if value is None else _encode_str(value)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text; NaN and infinities are refused."""
    return _encode(value)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: the one text form of a time in the chain."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def record_hash(prev_hash: str, row: dict[str, Any], payload_json: str | None = None,
                times: tuple[str, str] | None = None) -> str:
    """The chain hash of one row; equals sha256(prev_hash || canonical_json(record)).

    The append path passes what it already has: the payload's canonical JSON and the
    (occurred_at, recorded_at) ISO texts shared by every event of one append.
    """
    if payload_json is None:
        payload_json = _encode(row["payload"])
    occurred, recorded = times or (iso(row["occurred_at"]), iso(row["recorded_at"]))
    # Keys in sorted order, so this is exactly canonical_json(record), built without
    # re-encoding the payload (a unit test checks the equality).
    text = (
        '{"actor_id":' + _text(row["actor_id"])
        + ',"causation_id":' + _text(row["causation_id"])
        + ',"command_id":' + _text(row["command_id"])
        + ',"correlation_id":' + _text(row["correlation_id"])
        + ',"event_id":' + _text(row["event_id"])
        + ',"event_type":' + _text(row["event_type"])
        + ',"occurred_at":"' + occurred
        + '","payload":' + payload_json
        + ',"position":' + str(int(row["position"]))
        + ',"prev_hash":' + _text(prev_hash)
        + ',"recorded_at":"' + recorded
        + '","schema_version":' + str(int(row["schema_version"]))
        + ',"stream_id":' + _text(row["stream_id"])
        + ',"stream_type":' + _text(row["stream_type"])
        + ',"stream_version":' + str(int(row["stream_version"]))
        + "}"
    )
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()
