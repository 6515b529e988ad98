"""Projects: creation, members and roles, policies, delivery channels.

Pure part: :class:`ProjectState`, :func:`evolve`, ``decide_*``. Impure part: one handler
per command (load, check access, decide, append) built on :func:`commands.state.execute`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from commands.fold_cache import Folding, cache_of
from commands.state import ensure_same_request, execute, expected, first_of, new_id
from commands.users import Principal, get_user
from events.domain import stream_id
from events.errors import Conflict, DomainError, NotFound
from events.projects import (
    ROLES,
    ChannelRemoved,
    ChannelSet,
    ComputeUsed,
    MemberRemoved,
    MemberRoleSet,
    PoliciesSet,
    ProjectCreated,
)
from events.store import ANY, NO_STREAM, EventStore, Metadata, Recorded, StreamAppend
from events.types import Event
from rules.access import ADMIN, VIEWER, require_role, role_of

Answer = tuple[dict[str, Any], int, int | None]
"""A write's answer: the resource body, its stream version, the last position (None when
nothing was appended)."""
ADMIN_EVENTS = (MemberRoleSet, MemberRemoved, PoliciesSet, ChannelSet, ChannelRemoved)
LIMIT_NAMES = ("min_drafts_before_final", "final_render_cap", "compute_budget_seconds")
PRICE_NAMES = ("draft_price_per_compute_second", "final_price_per_compute_second",
               "price_currency")
POLICY_NAMES = (*LIMIT_NAMES, *PRICE_NAMES)


@dataclasses.dataclass
class ProjectState:
    project_id: str | None = None
    name: str = ""
    description: str = ""
    created_at: datetime | None = None
    members: dict[str, str] = dataclasses.field(default_factory=dict)
    policies: dict[str, Any] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(POLICY_NAMES))
    channels: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    """Channels removed and not set again: their approvals do not stand."""
    compute_used_seconds: float = 0.0

    @property
    def exists(self) -> bool:
        return self.project_id is not None

    def copy(self) -> ProjectState:
        """A copy whose containers :func:`apply` may change (folded states are cached and
        shared between threads; see commands.fold_cache)."""
        return dataclasses.replace(self, members=dict(self.members),
                                   policies=dict(self.policies), channels=dict(self.channels))


def apply(state: ProjectState, event: Event, at: datetime | None = None) -> None:
    """Fold one event into ``state`` in place (fold's fast path; see :func:`evolve`)."""
    match event:
        case ProjectCreated():
            state.project_id, state.name = event.project_id, event.name
            state.description, state.created_at = event.description, at
        case MemberRoleSet():
            state.members[event.user_id] = event.role
        case MemberRemoved():
            state.members.pop(event.user_id, None)
        case PoliciesSet():
            state.policies = {name: getattr(event, name) for name in POLICY_NAMES}
        case ChannelSet():
            state.channels[event.name] = {"min_width": event.min_width,
                                          "min_height": event.min_height}
        case ChannelRemoved():
            state.channels.pop(event.name, None)
        case ComputeUsed():
            state.compute_used_seconds += event.seconds


def evolve(state: ProjectState, event: Event, at: datetime | None = None) -> ProjectState:
    """The state after ``event``; ``state`` itself is left unchanged."""
    after = copy.deepcopy(state)
    apply(after, event, at)
    return after


# -- decisions (pure) ----------------------------------------------------------------


def decide_create(project_id: str, name: str, description: str, creator_id: str,
                  ) -> list[Event]:
    """A new project whose creator is its first admin."""
    return [ProjectCreated(project_id=project_id, name=name, description=description),
            MemberRoleSet(user_id=creator_id, role=ADMIN)]


def decide_set_member(state: ProjectState, user_id: str, role: str) -> list[Event]:
    """Give ``user_id`` ``role``; nothing when they already hold it.

    Raises DomainError for an unknown role, Conflict when it would leave no admin.
    """
    if role not in ROLES:
        raise DomainError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if state.members.get(user_id) == role:
        return []
    if state.members.get(user_id) == ADMIN and role != ADMIN:
        _keep_an_admin(state, user_id)
    return [MemberRoleSet(user_id=user_id, role=role)]


def decide_remove_member(state: ProjectState, user_id: str) -> list[Event]:
    """Raises NotFound for a non-member, Conflict when removing the last admin."""
    if user_id not in state.members:
        raise NotFound(f"user {user_id} is not a member of project {state.project_id}")
    if state.members[user_id] == ADMIN:
        _keep_an_admin(state, user_id)
    return [MemberRemoved(user_id=user_id)]


def _keep_an_admin(state: ProjectState, leaving: str) -> None:
    others = [u for u, r in state.members.items() if r == ADMIN and u != leaving]
    if not others:
        raise Conflict("a project must keep at least one admin; make someone else admin first")


def decide_set_policies(state: ProjectState, changes: dict[str, Any]) -> list[Event]:
    """Merge ``changes`` (None = no limit) into the current policies.

    Raises DomainError for an unknown policy name.
    """
    unknown = sorted(set(changes) - set(POLICY_NAMES))
    if unknown:
        raise DomainError(f"unknown policies {', '.join(unknown)}")
    merged = {**state.policies, **changes}
    if merged == state.policies:
        return []
    return [PoliciesSet(**merged)]


def decide_set_channel(state: ProjectState, name: str, min_width: int, min_height: int,
                       ) -> list[Event]:
    if state.channels.get(name) == {"min_width": min_width, "min_height": min_height}:
        return []
    return [ChannelSet(name=name, min_width=min_width, min_height=min_height)]


def decide_remove_channel(state: ProjectState, name: str) -> list[Event]:
    """Stop offering a channel. Raises NotFound when the project has no such channel."""
    if name not in state.channels:
        known = ", ".join(sorted(state.channels)) or "none"
        raise NotFound(f"project {state.project_id} has no channel {name!r}; its channels: "
                       f"{known}")
    return [ChannelRemoved(name=name)]


# -- loading and handlers (impure) ---------------------------------------------------


PROJECT = Folding(ProjectState, apply, ProjectState.copy)
"""How project streams fold (the key of their cached folds)."""


def load_project(store: EventStore, project_id: str, *, up_to_version: int | None = None,
                 ) -> tuple[ProjectState, int]:
    """The folded project and its stream version; NotFound when it does not exist.

    It comes from the fold cache (read it, never change it): finished jobs add to a
    project's stream all day, and every asset command checks membership."""
    stream = stream_id("project", project_id)
    if up_to_version is None:
        state, version, _ = cache_of(store).load(stream, PROJECT)
    else:
        state, version, _ = cache_of(store).load_up_to(stream, PROJECT, up_to_version)
    if not state.exists:
        raise NotFound(f"project {project_id} does not exist")
    return state, version


def hidden(project_id: str) -> str:
    return f"project {project_id} does not exist"


def view_project(store: EventStore, principal: Principal, project_id: str, *,
                 up_to_version: int | None = None) -> tuple[dict[str, Any], int]:
    """The project as a member sees it, and its stream version. NotFound for non-members."""
    state, version = load_project(store, project_id, up_to_version=up_to_version)
    role = require_role(state.members, principal, VIEWER, hidden=hidden(project_id))
    return project_body(state, version, role), version


def project_body(state: ProjectState, version: int, your_role: str) -> dict[str, Any]:
    return {
        "project_id": state.project_id, "name": state.name,
        "description": state.description,
        "created_at": state.created_at.isoformat() if state.created_at else None,
        "your_role": your_role,
        "members": [{"user_id": u, "role": r} for u, r in state.members.items()],
        "policies": dict(state.policies),
        "channels": [{"name": n, **size} for n, size in sorted(state.channels.items())],
        "compute_used_seconds": state.compute_used_seconds,
        "version": version,
    }


def create_project(store: EventStore, principal: Principal, meta: Metadata, *, name: str,
                   description: str = "") -> tuple[dict[str, Any], Recorded]:
    """Create a project with the caller as admin; return its body and the write's last
    recorded event (its position is what a client waits for to read its own write)."""
    project_id = new_id()

    def plan() -> list[StreamAppend]:
        events = decide_create(project_id, name, description, principal.user_id)
        return [StreamAppend(stream_id("project", project_id), "project", NO_STREAM, events)]

    recorded = execute(store, meta, plan)
    _, event = first_of(recorded, ProjectCreated)
    body, _ = view_project(store, principal, event.project_id,
                           up_to_version=recorded[-1].stream_version)
    return body, recorded[-1]


def _admin_command(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                   decide: Callable[[ProjectState], list[Event]], if_match: int) -> Answer:
    """Load the project, require admin, append ``decide(state)``; return the project body
    at the resulting version, that version and the last position (None for a no-op)."""

    def plan() -> list[StreamAppend]:
        state, version = load_project(store, project_id)
        require_role(state.members, principal, ADMIN, hidden=hidden(project_id))
        return [StreamAppend(stream_id("project", project_id), "project",
                             expected(if_match, version), decide(state))]

    recorded = execute(store, meta, plan, if_match=if_match)
    ensure_same_request(recorded, stream_id("project", project_id), *ADMIN_EVENTS)
    at = recorded[-1].stream_version if recorded else None
    # No role check on the answer: the caller was admin when deciding, and may just have
    # removed or demoted themselves.
    state, version = load_project(store, project_id, up_to_version=at)
    body = project_body(state, version, role_of(state.members, principal) or "none")
    return body, version, recorded[-1].position if recorded else None


def set_member_role(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                    user_id: str, role: str, *, if_match: int = ANY) -> Answer:
    """Admin only. Raises NotFound for an unknown user. Returns (body, version, position)."""

    def decide(state: ProjectState) -> list[Event]:
        get_user(store, user_id)  # after the admin check: strangers learn nothing
        return decide_set_member(state, user_id, role)

    return _admin_command(store, principal, meta, project_id, decide, if_match)


def remove_member(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                  user_id: str, *, if_match: int = ANY) -> Answer:
    return _admin_command(store, principal, meta, project_id,
                          lambda state: decide_remove_member(state, user_id), if_match)


def set_policies(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                 changes: dict[str, Any], *, if_match: int = ANY) -> Answer:
    return _admin_command(store, principal, meta, project_id,
                          lambda state: decide_set_policies(state, changes), if_match)


def set_channel(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                name: str, min_width: int, min_height: int, *,
                if_match: int = ANY) -> Answer:
    return _admin_command(
        store, principal, meta, project_id,
        lambda state: decide_set_channel(state, name, min_width, min_height), if_match)


def remove_channel(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                   name: str, *, if_match: int = ANY) -> Answer:
    """Admin only; NotFound for a channel the project does not have."""
    return _admin_command(store, principal, meta, project_id,
                          lambda state: decide_remove_channel(state, name), if_match)
