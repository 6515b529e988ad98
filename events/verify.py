"""Re-walk the hash chain and name the first position that does not match."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine, select

from events.chain import record_hash
from events.schema import GENESIS_HASH, event_head, events
from events.store import utc


@dataclasses.dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_position: int
    first_bad_position: int | None = None
    reason: str | None = None


def verify_chain(engine: Engine, page: int = 5000) -> ChainReport:
    """Check positions 1..N are contiguous, every hash recomputes, and the head matches.

    Detects edited columns (hash mismatch), deleted or reordered rows (position gap or
    broken prev_hash link) and deleted tails (head row ahead of the last event).
    """
    with engine.connect() as conn:
        head_position, head_hash = conn.execute(
            select(event_head.c.position, event_head.c.hash)).one()
        expected_position, prev_hash, checked = 1, GENESIS_HASH, 0
        while True:
            rows = conn.execute(
                select(events).where(events.c.position >= expected_position)
                .order_by(events.c.position).limit(page)).mappings().all()
            for row in rows:
                bad = _check_row(row, expected_position, prev_hash)
                if bad:
                    return ChainReport(False, checked, head_position, expected_position, bad)
                prev_hash = row["hash"]
                expected_position += 1
                checked += 1
            if len(rows) < page:
                break
    last = expected_position - 1
    if last != head_position:
        return ChainReport(False, checked, head_position, last + 1,
                           f"head says {head_position} events but the log ends at {last}")
    if prev_hash != head_hash:
        return ChainReport(False, checked, head_position, last,
                           "head hash does not match the last event's hash")
    return ChainReport(True, checked, head_position)


def _check_row(row, expected_position: int, prev_hash: str) -> str | None:  # noqa: ANN001
    if row["position"] != expected_position:
        return f"position {expected_position} is missing (next stored is {row['position']})"
    if row["prev_hash"] != prev_hash:
        return "prev_hash does not link to the previous event"
    values = dict(row)
    values["occurred_at"] = utc(row["occurred_at"])
    values["recorded_at"] = utc(row["recorded_at"])
    if record_hash(prev_hash, values) != row["hash"]:
        return "stored hash does not match the event's contents"
    return None
