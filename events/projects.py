"""Projects: members and roles, policies, delivery channels. Stream: ``project-<id>``."""

from __future__ import annotations

from dataclasses import dataclass

from events.types import Event, event

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


@event("project.policies_set")
@dataclass(frozen=True, kw_only=True)
class PoliciesSet(Event):
    """None means "no limit" for each policy."""

    min_drafts_before_final: int | None = None
    final_render_cap: int | None = None
    compute_budget_seconds: float | None = None


@event("project.channel_set")
@dataclass(frozen=True, kw_only=True)
class ChannelSet(Event):
    name: str
    min_width: int
    min_height: int


@event("project.compute_used")
@dataclass(frozen=True, kw_only=True)
class ComputeUsed(Event):
    """Appended with each finished job so the budget policy folds from this stream."""

    job_id: str
    asset_id: str
    seconds: float
