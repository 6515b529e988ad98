"""The SHA-256 hash chain over the global log.

hash = sha256(prev_hash || canonical_json(record)), where the record is every column of
the row but ``hash`` itself, with times as UTC ISO-8601 text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from events.schema import GENESIS_HASH

__all__ = ["GENESIS_HASH", "append_hasher", "canonical_json", "record_hash", "iso"]

_encode_str = json.encoder.encode_basestring  # the C encoder, as ensure_ascii=False uses
_c_make_encoder = json.encoder.c_make_encoder


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _encode(value: Any) -> str:
    """json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False).encode without its Python set-up around the C encoder (~40% of its
    time on a small payload); a unit test checks both give the same text. The circular
    reference markers are fresh per call, as there: a failed encode leaves its own behind."""
    return "".join(_c_make_encoder({}, _refuse, _encode_str, None, ":", ",", True, False,
                                   False)(value, 0))


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


def record_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain hash of one row (a mapping of the ``events`` columns, times as datetimes);
    equals sha256(prev_hash || canonical_json(record))."""
    hash_record = append_hasher(row["actor_id"], row["causation_id"], row["command_id"],
                                row["correlation_id"], iso(row["occurred_at"]),
                                iso(row["recorded_at"]))
    return hash_record(prev_hash, row["event_id"], row["event_type"], _encode(row["payload"]),
                       row["position"], row["schema_version"], row["stream_id"],
                       row["stream_type"], row["stream_version"])


def append_hasher(actor_id: str | None, causation_id: str | None, command_id: str | None,
                  correlation_id: str | None, occurred: str, recorded: str,
                  ) -> Callable[..., str]:
    """The record hash for the events of one append, which share their metadata and times
    (ISO texts, see :func:`iso`): the text they share is built once.

    The returned function takes (prev_hash, event_id, event_type, payload_json, position,
    schema_version, stream_id, stream_type, stream_version).
    """
    # Keys in sorted order, so the text is exactly canonical_json(record), built without
    # re-encoding the payload (a unit test checks the equality).
    opening = (
        '{"actor_id":' + _text(actor_id)
        + ',"causation_id":' + _text(causation_id)
        + ',"command_id":' + _text(command_id)
        + ',"correlation_id":' + _text(correlation_id)
        + ',"event_id":'
    )
    occurred_part = ',"occurred_at":"' + occurred + '","payload":'
    recorded_part = ',"recorded_at":"' + recorded + '","schema_version":'

    # The events of an append share a few types and streams: quote each once.
    types: dict[str, str] = {}
    streams: dict[tuple[str, str], str] = {}

    def hash_record(prev_hash: str, event_id: str, event_type: str, payload_json: str,
                    position: int, schema_version: int, stream_id: str, stream_type: str,
                    stream_version: int) -> str:
        type_part = types.get(event_type)
        if type_part is None:
            type_part = types[event_type] = (
                ',"event_type":' + _text(event_type) + occurred_part)
        stream_part = streams.get((stream_id, stream_type))
        if stream_part is None:
            stream_part = streams[stream_id, stream_type] = (
                ',"stream_id":' + _text(stream_id) + ',"stream_type":' + _text(stream_type)
                + ',"stream_version":')
        # UTF-8 of the joined text is the UTF-8 of prev_hash followed by the record's
        # (one f-string: no intermediate strings; ":d" writes ints as JSON does).
        return sha256(
            f'{prev_hash}{opening}{_encode_str(event_id)}{type_part}{payload_json}'
            f',"position":{position:d},"prev_hash":{_encode_str(prev_hash)}'
            f'{recorded_part}{schema_version:d}{stream_part}{stream_version:d}}}'
            .encode()).hexdigest()

    return hash_record
