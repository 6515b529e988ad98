"""The fast record hash equals the documented definition: sha256(prev || canonical(record))."""

import hashlib
import json
from datetime import UTC, datetime

import pytest

from events.chain import canonical_json, iso, record_hash


def test_record_hash_is_sha256_of_prev_hash_and_canonical_record():
    row = {
        "position": 7, "event_id": "e", "stream_id": "asset-1", "stream_type": "asset",
        "stream_version": 3, "event_type": "comment.added", "schema_version": 1,
        "payload": {"body": "Ünïcode ✓", "region": {"y": 0.5, "x": 0.25}, "n": [1, None]},
        "actor_id": "u-1", "correlation_id": None, "causation_id": "c", "command_id": None,
        "occurred_at": datetime(2026, 11, 25, 14, 5, tzinfo=UTC),
        "recorded_at": datetime(2026, 11, 25, 14, 5, 0, 12, tzinfo=UTC),
    }
    prev = "ab" * 32
    record = {**row, "prev_hash": prev, "occurred_at": iso(row["occurred_at"]),
              "recorded_at": iso(row["recorded_at"])}
    expected = hashlib.sha256((prev + canonical_json(record)).encode()).hexdigest()

    assert record_hash(prev, row) == expected
    assert record_hash(prev, {**row, "actor_id": "u-2"}) != expected


def test_canonical_json_is_the_standard_encoders_sorted_compact_text():
    standard = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                allow_nan=False).encode
    for value in ({"b": [1, 2.5, None, True], "a": {"z": 'Ünï"\\\n✓', "y": -0.0}}, [], "x", 3,
                  {"nested": [{"k": [{}]}]}, {"big": 10**30, "small": 1e-9}):
        assert canonical_json(value) == standard(value)
    for refused in ({"nan": float("nan")}, {"inf": float("inf")}):
        with pytest.raises(ValueError):
            canonical_json(refused)
    with pytest.raises(TypeError):
        canonical_json({"when": object()})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError):
        canonical_json(loop)
    assert canonical_json({"after": "failures"}) == '{"after":"failures"}'
