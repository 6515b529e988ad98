"""Small pieces several read models share: time formatting, channels, current approvals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from events.store import utc
from projections.tables import decisions


def iso(moment: Any) -> str | None:
    """A stored time as ISO 8601 UTC text (None stays None)."""
    return utc(moment).isoformat() if moment is not None else None


def channel_key(channel: str | None) -> str:
    """Decisions without a channel count for the ``default`` channel."""
    return channel or "default"


def current_approvals(conn: Connection, asset_id: str) -> dict[str, str]:
    """channel → the currently approved version id of an asset.

    The latest unrevoked approval in the channel, unless a later unrevoked decision on
    the same version in that channel (changes requested, rejected) took it back.
    """
    current: dict[str, str] = {}
    rows = conn.execute(select(decisions.c.version_id, decisions.c.channel,
                               decisions.c.decision)
                        .where(decisions.c.asset_id == asset_id,
                               decisions.c.revoked_at.is_(None))
                        .order_by(decisions.c.position))
    for version_id, channel, decision in rows:
        key = channel_key(channel)
        if decision == "approved":
            current[key] = version_id
        elif current.get(key) == version_id:
            del current[key]
    return current
