"""Builds realistic histories for read-side tests by appending domain events directly
(Given these events… when projected… then the query answers…)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from commands.users import create_user
from events.assets import AssetCreated, TagAdded, TagRemoved, VersionCreated
from events.domain import stream_id
from events.jobs import JobRequested
from events.projects import (
    ChannelRemoved,
    ChannelSet,
    ComputeUsed,
    MemberRemoved,
    MemberRoleSet,
    ProjectCreated,
)
from events.reviews import (
    CommentAdded,
    CommentResolved,
    DecisionRecorded,
    DecisionRevoked,
    VersionPinned,
    VersionUnpinned,
)
from events.store import ANY, EventStore, Metadata, StreamAppend
from events.types import Event


def new_id() -> str:
    return str(uuid.uuid4())


class History:
    """Appends events the way the write side would; every method returns the new id."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.asset_project: dict[str, str] = {}
        self.version_hash: dict[str, str] = {}
        self.version_asset: dict[str, str] = {}
        self.last_position = 0

    def _append(self, kind: str, entity: str, events: list, actor: str | None,
                entity_ids: tuple[str, ...] = (), when: datetime | None = None) -> None:
        recorded = self.store.append_streams(
            [StreamAppend(stream_id(kind, entity), kind, ANY, events, entity_ids)],
            Metadata(actor_id=actor, occurred_at=when))
        self.last_position = recorded[-1].position

    def user(self, name: str, *, admin: bool = False) -> tuple[str, str]:
        """(user id, bearer token)."""
        user, token = create_user(self.store, name, is_admin=admin)
        self.last_position = self.store.head().position
        return user.user_id, token.token

    def project(self, name: str, members: dict[str, str], actor: str | None = None) -> str:
        project_id = new_id()
        events = [ProjectCreated(project_id=project_id, name=name)]
        events += [MemberRoleSet(user_id=u, role=r) for u, r in members.items()]
        self._append("project", project_id, events, actor)
        return project_id

    def set_role(self, project_id: str, user_id: str, role: str | None) -> None:
        event = (MemberRoleSet(user_id=user_id, role=role) if role
                 else MemberRemoved(user_id=user_id))
        self._append("project", project_id, [event], None)

    def channel(self, project_id: str, name: str, *, remove: bool = False) -> None:
        """Set the delivery channel ``name`` (again), or remove it."""
        event = (ChannelRemoved(name=name) if remove
                 else ChannelSet(name=name, min_width=8, min_height=8))
        self._append("project", project_id, [event], None)

    def asset(self, project_id: str, name: str, tags: list[str] = (), brief: str = "",
              actor: str | None = None) -> str:
        asset_id = new_id()
        self.asset_project[asset_id] = project_id
        self._append("asset", asset_id, [AssetCreated(
            asset_id=asset_id, project_id=project_id, name=name, brief=brief,
            tags=list(tags))], actor)
        return asset_id

    def tag(self, asset_id: str, tag: str, *, remove: bool = False) -> None:
        event = TagRemoved(tag=tag) if remove else TagAdded(tag=tag)
        self._append("asset", asset_id, [event], None)

    def version(self, asset_id: str, author: str, *, parents: tuple[str, ...] = (),
                tier: str = "draft", operation: str = "generate", prompt: str = "a red fox",
                seed: int = 1, model: str = "tiny-sd", cost: float = 1.5, note: str = "",
                extra: dict | None = None, job_id: str | None = None) -> str:
        version_id = new_id()
        content_hash = hashlib.sha256(version_id.encode()).hexdigest()
        recipe = {"prompt": prompt, "negative_prompt": "", "seed": seed, "model_id": model,
                  "steps": 4, "guidance": 5.0, **(extra or {})}
        self.version_hash[version_id] = content_hash
        self.version_asset[version_id] = asset_id
        self._append("asset", asset_id, [VersionCreated(
            version_id=version_id, asset_id=asset_id, author_id=author, operation=operation,
            tier=tier, content_hash=content_hash, width=64, height=64, recipe=recipe,
            parent_ids=list(parents), cost_seconds=cost, note=note, job_id=job_id)], author,
            (version_id,))
        return version_id

    def comment(self, version_id: str, author: str, body: str) -> str:
        comment_id = new_id()
        self._append("asset", self.version_asset[version_id], [CommentAdded(
            comment_id=comment_id, version_id=version_id, author_id=author, body=body)],
            author, (comment_id,))
        return comment_id

    def resolve(self, version_id: str, comment_id: str, actor: str) -> None:
        self._append("asset", self.version_asset[version_id], [CommentResolved(
            comment_id=comment_id, version_id=version_id)], actor)

    def decide(self, version_id: str, reviewer: str, decision: str = "approved", *,
               channel: str | None = "social", role: str = "reviewer") -> str:
        decision_id = new_id()
        self._append("asset", self.version_asset[version_id], [DecisionRecorded(
            decision_id=decision_id, version_id=version_id, decision=decision,
            content_hash=self.version_hash[version_id], reviewer_id=reviewer, role=role,
            channel=channel)], reviewer, (decision_id,))
        return decision_id

    def revoke(self, version_id: str, decision_id: str, actor: str, reason: str = "oops",
               ) -> None:
        self._append("asset", self.version_asset[version_id], [DecisionRevoked(
            decision_id=decision_id, version_id=version_id, revoked_by=actor,
            reason=reason)], actor)

    def pin(self, version_id: str, actor: str, label: str = "agreed in review") -> str:
        pin_id = new_id()
        self._append("asset", self.version_asset[version_id], [VersionPinned(
            pin_id=pin_id, version_id=version_id, label=label, pinned_by=actor)], actor,
            (pin_id,))
        return pin_id

    def unpin(self, version_id: str, pin_id: str, actor: str) -> None:
        self._append("asset", self.version_asset[version_id], [VersionUnpinned(
            pin_id=pin_id, version_id=version_id)], actor)

    def compute_used(self, asset_id: str, seconds: float) -> None:
        self._append("project", self.asset_project[asset_id], [ComputeUsed(
            job_id=new_id(), asset_id=asset_id, seconds=seconds)], None)

    def job(self, asset_id: str, requester: str, *, operation: str = "generate",
            tier: str = "draft") -> str:
        """A job requested for the asset (its later events: :meth:`job_events`)."""
        job_id = new_id()
        self._append("job", job_id, [JobRequested(
            job_id=job_id, kind="generate" if operation == "generate" else "edit",
            project_id=self.asset_project[asset_id], asset_id=asset_id,
            requested_by=requester, recipe={"operation": operation, "steps": 4}, tier=tier)],
            requester)
        return job_id

    def job_events(self, job_id: str, *events: Event) -> None:
        self._append("job", job_id, list(events), None)
