"""Helpers for write-side tests on one asset: a member with a project and an asset made
through the commands, and versions appended straight to the store."""

from __future__ import annotations

import dataclasses
import uuid

from commands.assets import create_asset
from commands.projects import create_project
from commands.users import Principal, create_user
from events.assets import VersionCreated
from events.store import ANY, EventStore, Metadata, StreamAppend


@dataclasses.dataclass(frozen=True)
class World:
    """``ann`` (a project admin), her bearer token, the project and the asset."""

    ann: Principal
    token: str
    project_id: str
    asset_id: str

    @property
    def meta(self) -> Metadata:
        return Metadata(actor_id=self.ann.user_id)


def make_world(store: EventStore) -> World:
    user, token = create_user(store, "ann")
    ann = Principal(user.user_id, "ann", False, token.token_id)
    project, _ = create_project(store, ann, Metadata(actor_id=ann.user_id), name="P")
    asset, _, _ = create_asset(store, ann, Metadata(actor_id=ann.user_id),
                               project["project_id"], name="Hero")
    return World(ann, token.token, project["project_id"], asset["asset_id"])


def add_version(store: EventStore, asset_id: str, parents: list[str] | None = None) -> str:
    """A 64x64 uploaded draft version (no blob: the write side needs none); its id."""
    version_id = str(uuid.uuid4())
    store.append_streams([StreamAppend(f"asset-{asset_id}", "asset", ANY, [VersionCreated(
        version_id=version_id, asset_id=asset_id, author_id="u", operation="upload",
        tier="draft", content_hash="ab" * 32, width=64, height=64, recipe={},
        parent_ids=parents or [])], entity_ids=(version_id,))], Metadata(actor_id="u"))
    return version_id
