"""This process's view of the model registry (commands/models.py), and the registration
of what the LINEAGE_MODEL_* variables point at.

A worker refreshes the view before each job (the registry is one short stream), so a
model registered or a tier reassigned while it runs is used from the next job on. With
no view (a tool calling the engine directly) tiers fall back to the variables alone.
"""

from __future__ import annotations

import logging
import os
import threading

from commands.models import Registry, load_registry, register_model
from events.errors import NotFound
from events.models import MODEL_TIERS, ModelRegistered
from events.store import EventStore, Metadata

log = logging.getLogger(__name__)

TIER_ENV = {
    "draft": "LINEAGE_MODEL_DRAFT",
    "final": "LINEAGE_MODEL_FINAL",
    "inpaint": "LINEAGE_MODEL_INPAINT",
    "upscale": "LINEAGE_MODEL_UPSCALE",
}
ENV_NAME_PREFIX = "env-"
"""What a variable points at is registered as ``env-<tier>`` (e.g. ``env-draft``)."""

_lock = threading.Lock()
_view: Registry | None = None


def refresh(store: EventStore) -> Registry:
    """Read the registry from the store and make it this process's view."""
    global _view
    registry, _ = load_registry(store)
    with _lock:
        _view = registry
    return registry


def forget() -> None:
    """Drop the view (tests)."""
    global _view
    with _lock:
        _view = None


def view() -> Registry | None:
    with _lock:
        return _view


def tier_model(tier: str) -> ModelRegistered | None:
    """The registered model the registry assigns to ``tier`` (None: none, or no view)."""
    registry = view()
    return registry.for_tier(tier) if registry is not None else None


def entry_for_spec(spec: str) -> ModelRegistered | None:
    registry = view()
    return registry.by_spec(spec) if registry is not None else None


def adapter(name: str) -> ModelRegistered:
    """The registered LoRA adapter ``name``; NotFound when there is none."""
    registry = view()
    if registry is None:
        raise NotFound(f"no registered LoRA adapter named {name!r} (no registry here)")
    entry = registry.entry(name).event
    if entry.kind != "lora":
        raise NotFound(f"{name!r} is a registered model, not a LoRA adapter")
    return entry


def register_environment(store: EventStore, data_dir: os.PathLike | str) -> list[str]:
    """Register what each set LINEAGE_MODEL_* variable points at as ``env-<tier>`` and
    assign it that tier (a changed folder is recorded as a new revision and logged).
    Hub ids are left alone: their weights are not on disk until loaded. Returns the
    names registered or re-registered."""
    from workers.model_files import NotAModel, inspect_model

    changed: list[str] = []
    for tier in MODEL_TIERS:
        spec = os.environ.get(TIER_ENV[tier], "").strip()
        if not spec:
            continue
        try:
            inspected = inspect_model(spec, data_dir, tier)
        except NotAModel:
            log.info("%s=%s is not a local model; not registered", TIER_ENV[tier], spec)
            continue
        name = f"{ENV_NAME_PREFIX}{tier}"
        body, recorded = register_model(store, Metadata(actor_id="worker"), inspected, name,
                                        tier, source="environment")
        if recorded:
            changed.append(name)
            log.info("registered %s=%s as model %r (revision %s, weights %s)",
                     TIER_ENV[tier], spec, name, body["revision"], body["weights_hash"])
    refresh(store)
    return changed
