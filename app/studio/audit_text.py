"""Audit entries in words: who (by name, guests "via link") and what they did.

Pure: takes entries as ``GET /api/audit`` answers them and a map of display names.
"""

from __future__ import annotations

from typing import Any

from app.studio.display_names import LINK_PREFIX
from app.studio.formatting import status_label

ACTIONS = (("", "Every action"), ("decision", "Decisions"), ("comment", "Comments"),
           ("version", "Versions and pins"), ("job", "Jobs"), ("asset", "Assets and tags"),
           ("project", "Projects and members"), ("guest", "Guest links"))
"""Filters the audit page offers: an event type prefix and its label."""


def who(entry: dict[str, Any], names: dict[str, str]) -> str:
    """The person behind an entry: a name, "<guest> via link", or what the id says."""
    actor = entry.get("actor_id") or ""
    details = entry.get("details") or {}
    if actor.startswith(LINK_PREFIX):
        guest = details.get("name") if entry["event_type"] == "guest.joined" else names.get(
            details.get("author_id") or "", "").removesuffix(" (guest)")
        return f"{guest} via link" if guest else "a guest via link"
    if not actor:
        return "Lineage"
    return names.get(actor, "a worker" if ":" not in actor and actor.startswith("worker")
                     else actor if actor in ("cli", "demo") else "someone")


def people_in(entries: list[dict[str, Any]]) -> set[str]:
    """Every person id the entries name (actors, comment authors, members set)."""
    ids: set[str] = set()
    for entry in entries:
        ids.add(entry.get("actor_id") or "")
        details = entry.get("details") or {}
        for key in ("author_id", "user_id", "reviewer_id", "revoked_by"):
            if isinstance(details.get(key), str):
                ids.add(details[key])
        if entry.get("revoked_by"):
            ids.add(entry["revoked_by"])
    return {i for i in ids if i}


def what(entry: dict[str, Any], names: dict[str, str]) -> str:
    """What happened, in a short sentence without the actor."""
    kind = entry["event_type"]
    d = entry.get("details") or {}
    channel = d.get("channel")
    texts = {
        "project.created": lambda: f"created the project “{d.get('name', '')}”",
        "project.member_role_set": lambda: f"gave {names.get(d.get('user_id', ''), 'someone')}"
                                           f" the {d.get('role', '')} role",
        "project.member_removed": lambda: f"removed {names.get(d.get('user_id', ''), 'someone')}",
        "project.policies_set": lambda: "changed the policies",
        "project.channel_set": lambda: f"set channel {d.get('name')} "
                                       f"({d.get('min_width')}×{d.get('min_height')} minimum)",
        "project.channel_removed": lambda: f"removed channel {d.get('name')}",
        "project.compute_used": lambda: f"used {d.get('seconds', 0):.1f} s of compute",
        "asset.created": lambda: f"created the asset “{d.get('name', '')}”",
        "asset.tag_added": lambda: f"tagged it {d.get('tag')}",
        "asset.tag_removed": lambda: f"removed the tag {d.get('tag')}",
        "asset.jobs_requested": lambda: f"asked for {len(d.get('job_ids') or [])} "
                                        f"{d.get('tier', '')} {d.get('operation', '')}",
        "version.created": lambda: f"made a {d.get('tier', '')} version by "
                                   f"{d.get('operation', '')}",
        "version.pinned": lambda: f"pinned it as “{d.get('label', '')}”",
        "version.unpinned": lambda: "removed a pin",
        "comment.added": lambda: f"commented: “{_short(d.get('body', ''))}”"
                                 + (" on a region" if d.get("region") else ""),
        "comment.resolved": lambda: "resolved a comment",
        "decision.recorded": lambda: status_label(d.get("decision"))
                                     + (f" for {channel}" if channel else ""),
        "decision.revoked": lambda: f"revoked a decision: “{_short(d.get('reason', ''))}”",
        "job.requested": lambda: f"requested a {d.get('kind', '')} job",
        "job.started": lambda: "started a job",
        "job.completed": lambda: f"finished a job ({d.get('cost_seconds', 0):.1f} s)",
        "job.failed": lambda: f"job failed: {_short(d.get('message', ''))}",
        "job.retry_requested": lambda: "retried a job",
        "guest_link.created": lambda: f"shared {len(d.get('asset_ids') or [])} asset(s) by "
                                      f"guest link ({d.get('permission', '')})",
        "guest_link.revoked": lambda: "revoked a guest link",
        "guest.joined": lambda: "opened the guest link",
        "signin.link_issued": lambda: "made a one-time sign-in link",
        "signin.link_used": lambda: "signed in with a one-time link",
        "token.issued": lambda: "was issued a token" + (
            f" ({d.get('label')})" if d.get("label") else ""),
        "token.revoked": lambda: "revoked a token" + (
            f": {d.get('reason')}" if d.get("reason") else ""),
        "user.registered": lambda: f"registered {d.get('name', '')}",
    }
    describe = texts.get(kind)
    return describe() if describe else entry.get("summary") or kind


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

