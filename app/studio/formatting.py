"""Jinja filters of the studio: times as people read them, statuses in words."""

from __future__ import annotations

from datetime import UTC, datetime

STATUS_LABELS = {"needs_review": "Needs review", "changes_requested": "Changes requested",
                 "approved": "Approved", "rejected": "Rejected", "in_review": "In review",
                 "empty": "No versions", "none": "In review"}


def _moment(iso: str | datetime | None) -> datetime | None:
    if iso is None or iso == "":
        return None
    moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(iso: str | datetime | None) -> str:
    """``2026-11-25T14:05:09+00:00`` → ``25 Nov 2026, 14:05:09 UTC``."""
    moment = _moment(iso)
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M:%S UTC") if moment else ""


def ago(iso: str | datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest unit: ``just now``, ``4 min ago``, ``3 h ago``…"""
    moment = _moment(iso)
    if moment is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 45:
        return "just now"
    return duration(seconds) + " ago"


def duration(seconds: float) -> str:
    """``75`` → ``1 min``; ``7300`` → ``2 h 1 min``; ``200000`` → ``2 d 7 h``."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min"
    if hours < 24:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{days} d {rest} h" if rest else f"{days} d"


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "none", (status or "").replace("_", " ").capitalize())
