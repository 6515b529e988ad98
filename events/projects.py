"""Projects: members and roles, policies, delivery channels. Stream: ``project-<id>``."""

from __future__ import annotations

from dataclasses import dataclass

from events.types import Event, Payload, event, upcaster

ROLES = ("viewer", "creator", "reviewer", "admin")
"""Project roles, weakest first: each role may do everything the ones before it may."""


@event("project.created")
@dataclass(frozen=True, kw_only=True)
class ProjectCreated(Event):
    project_id: str
    name: str
    description: str = ""


@event("project.member_role_set")
@dataclass(frozen=True, kw_only=True)
class MemberRoleSet(Event):
    user_id: str
    role: str


@event("project.member_removed")
@dataclass(frozen=True, kw_only=True)
class MemberRemoved(Event):
    user_id: str


@event("project.policies_set", version=2)
@dataclass(frozen=True, kw_only=True)
class PoliciesSet(Event):
    """Every policy, as it stands after the change. None means "no limit" for the three
    limits and "no price" for the prices (schema 2 added the prices and their currency:
    what a compute-second of each tier costs, which the metrics turn into money)."""

    min_drafts_before_final: int | None = None
    final_render_cap: int | None = None
    compute_budget_seconds: float | None = None
    draft_price_per_compute_second: float | None = None
    final_price_per_compute_second: float | None = None
    price_currency: str | None = None


@upcaster("project.policies_set", 1)
def _policies_without_prices(payload: Payload) -> Payload:
    for name in ("draft_price_per_compute_second", "final_price_per_compute_second",
                 "price_currency"):
        payload.setdefault(name, None)
    return payload


@event("project.channel_set")
@dataclass(frozen=True, kw_only=True)
class ChannelSet(Event):
    name: str
    min_width: int
    min_height: int


@event("project.channel_removed")
@dataclass(frozen=True, kw_only=True)
class ChannelRemoved(Event):
    """The channel is no longer offered. Decisions recorded for it stay as they were (the
    log and the audit keep them); its approvals stop standing while the project has no
    channel of that name (rules/approvals.py)."""

    name: str


@event("project.compute_used")
@dataclass(frozen=True, kw_only=True)
class ComputeUsed(Event):
    """Appended with each finished job so the budget policy folds from this stream."""

    job_id: str
    asset_id: str
    seconds: float
