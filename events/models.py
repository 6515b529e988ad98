"""The model registry. One stream, ``models-registry``: registrations are rare and every
worker reads the whole registry to resolve tiers, so one short stream serves both."""

from __future__ import annotations

from dataclasses import dataclass, field

from events.types import Event, Payload, event, upcaster

MODEL_TIERS = ("draft", "final", "inpaint", "upscale")
"""draft/final run generate and img2img of their tier; inpaint runs inpaint and outpaint;
upscale runs upscale (the same roles as LINEAGE_MODEL_DRAFT/FINAL/INPAINT/UPSCALE)."""
MODEL_KINDS = ("pipeline", "lora")


@event("model.registered", version=2)
@dataclass(frozen=True, kw_only=True)
class ModelRegistered(Event):
    """A model (or LoRA adapter) on disk, as inspected when registered. ``spec`` is what
    the engine loads (a folder, a single-file checkpoint, or ``builtin:…``); ``files``
    maps each weight file's relative path to its SHA-256; ``weights_hash`` is the hash
    over all of them that recipes record. ``config`` (version 2) is the local diffusers
    folder a single-file checkpoint takes its configuration from. Registering a name
    again records its new weights (a new revision)."""

    name: str
    kind: str
    spec: str
    path: str
    family: str
    pipeline_class: str
    components: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    weights_hash: str
    source: str = "cli"
    config: str | None = None


@upcaster("model.registered", 1)
def _registered_without_config(payload: Payload) -> Payload:
    payload.setdefault("config", None)
    return payload


@event("model.tier_assigned")
@dataclass(frozen=True, kw_only=True)
class ModelTierAssigned(Event):
    """From now on ``tier`` runs the registered model ``name``."""

    tier: str
    name: str
