"""Uploads: a version made outside Lineage (a manual retouch), stored by content hash.

The bytes are decoded defensively before anything is stored (not an image, truncated,
decompression bomb), kept as sent, and any generation metadata another tool embedded
(AUTOMATIC1111, ComfyUI, InvokeAI) is recorded as ``imported``. Its bytes stay the
chain's source; ``rebuildable`` says whether its recipe is complete enough to be
re-rendered where a local model has the weights its hash names (a rebuild then re-renders
it and gives the usual verdict; ``rerender_blockers`` says what stands in the way).
"""

from __future__ import annotations

from typing import Any

from commands.asset_state import AssetState, load_asset, load_asset_as, version_summary
from commands.state import execute, expected, first_of, new_id
from commands.users import Principal
from events.assets import TIERS, VersionCreated
from events.domain import stream_id
from events.errors import DomainError, NotFound
from events.store import ANY, EventStore, Metadata, StreamAppend
from imaging.blobs import BlobStore
from imaging.png import decode_image
from interchange.png_metadata import parse_generation_metadata
from interchange.rerender_plan import rerender_plan
from rules.access import CREATOR


def imported_metadata(data: bytes) -> dict[str, Any] | None:
    """Another tool's generation metadata in a PNG, as recorded on the version."""
    found = parse_generation_metadata(data)
    if found is None:
        return None
    imported: dict[str, Any] = {"tool": found.tool, "tool_version": found.tool_version,
                                "recipe": found.recipe, "warnings": list(found.warnings)}
    if found.loras:
        imported["loras"] = found.loras
    if found.merged:
        imported["merged"] = found.merged
    plan = rerender_plan(imported)
    imported["rebuildable"] = plan.possible
    imported["rerender_blockers"] = plan.blockers
    return imported


def decide_upload(asset: AssetState, *, version_id: str, author_id: str, content_hash: str,
                  width: int, height: int, image_format: str, tier: str,
                  parent_version_id: str | None, note: str,
                  imported: dict[str, Any] | None) -> list[VersionCreated]:
    """Raises NotFound for a parent that is not a version of this asset, DomainError for
    an unknown tier."""
    if tier not in TIERS:
        raise DomainError(f"unknown tier {tier!r}; use {', '.join(TIERS)}", field="tier")
    if parent_version_id is not None and parent_version_id not in asset.versions:
        raise NotFound(f"version {parent_version_id} does not exist in asset {asset.asset_id}")
    recipe = {"operation": "upload", "tier": tier, "format": image_format,
              "content_hash": content_hash}
    return [VersionCreated(
        version_id=version_id, asset_id=asset.asset_id, author_id=author_id,
        operation="upload", tier=tier, content_hash=content_hash, width=width, height=height,
        recipe=recipe, parent_ids=[parent_version_id] if parent_version_id else [],
        note=note, imported=imported)]


def upload_version(store: EventStore, blobs: BlobStore, principal: Principal, meta: Metadata,
                   asset_id: str, data: bytes, *, max_pixels: int, tier: str = "draft",
                   parent_version_id: str | None = None, note: str = "",
                   if_match: int = ANY) -> tuple[dict[str, Any], int, int]:
    """Store an uploaded image as a new version (creator role).

    Returns (version body with ``imported`` and ``warnings``, asset stream version,
    position). Raises NotFound, Forbidden, InvalidImage (422), ImageTooLarge (413).
    """
    version_id = new_id()
    stored: dict[str, Any] = {}

    def plan() -> list[StreamAppend]:
        asset, version, _, _ = load_asset_as(store, principal, asset_id, CREATOR)
        if not stored:
            image = decode_image(data, max_pixels=max_pixels)
            stored.update(width=image.width, height=image.height,
                          image_format=_format_of(data), imported=imported_metadata(data))
            stored["content_hash"] = blobs.put_for(asset.project_id, data)
        events = decide_upload(asset, version_id=version_id, author_id=principal.user_id,
                               tier=tier, parent_version_id=parent_version_id, note=note,
                               **stored)
        return [StreamAppend(stream_id("asset", asset_id), "asset", expected(if_match, version),
                             events, entity_ids=(version_id,))]

    recorded = execute(store, meta, plan, if_match=if_match)
    created, event = first_of(recorded, VersionCreated)
    asset, version = load_asset(store, event.asset_id, up_to_version=created.stream_version)
    body = {**version_summary(asset.versions[event.version_id]), "asset_id": event.asset_id,
            "note": event.note, "recipe": event.recipe, "imported": event.imported,
            "warnings": list((event.imported or {}).get("warnings", []))}
    return body, version, created.position


def _format_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "PNG"
    if data.startswith(b"\xff\xd8"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return "unknown"


MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def media_type(data: bytes) -> str:
    """The image media type of stored bytes (by signature)."""
    return MEDIA_TYPES.get(_format_of(data), "application/octet-stream")
