"""Assets and their versions. Stream: ``asset-<id>`` (versions live in their asset's stream,
so "the asset as it was at 14:05" is one stream folded up to a time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.types import Event, event
from rules.recipes import OPERATIONS as RECIPE_OPERATIONS

OPERATIONS = (*RECIPE_OPERATIONS, "upload")
"""Operations a version may record: a recipe's, or an upload."""
TIERS = ("draft", "final")


@event("asset.created")
@dataclass(frozen=True, kw_only=True)
class AssetCreated(Event):
    asset_id: str
    project_id: str
    name: str
    brief: str = ""
    tags: list[str] = field(default_factory=list)


@event("asset.tag_added")
@dataclass(frozen=True, kw_only=True)
class TagAdded(Event):
    tag: str


@event("asset.tag_removed")
@dataclass(frozen=True, kw_only=True)
class TagRemoved(Event):
    tag: str


@event("asset.jobs_requested")
@dataclass(frozen=True, kw_only=True)
class JobsRequested(Event):
    """Jobs that will add versions to this asset; lets policies count pending finals."""

    job_ids: list[str]
    operation: str
    tier: str


@event("version.created")
@dataclass(frozen=True, kw_only=True)
class VersionCreated(Event):
    """One image: generated or edited by a job, or uploaded (``job_id`` None).

    ``recipe`` is everything needed to re-make the bytes (see workers/operations.py),
    including the environment fingerprint; ``parent_ids`` link the version tree;
    ``derived_from`` names the version a re-baked step re-made.
    """

    version_id: str
    asset_id: str
    author_id: str
    operation: str
    tier: str
    content_hash: str
    width: int
    height: int
    recipe: dict[str, Any]
    parent_ids: list[str] = field(default_factory=list)
    job_id: str | None = None
    cost_seconds: float = 0.0
    note: str = ""
    imported: dict[str, Any] | None = None
    derived_from: str | None = None
