"""Bring this process's registry view up to date (workers/model_registry.py), and register
what the LINEAGE_MODEL_* variables point at."""

from __future__ import annotations

import logging
import os

from commands.model_catalog import Registry
from commands.models import load_registry, register_model
from events.models import MODEL_TIERS
from events.store import EventStore, Metadata
from workers import model_registry

log = logging.getLogger(__name__)

TIER_ENV = {
    "draft": "LINEAGE_MODEL_DRAFT",
    "final": "LINEAGE_MODEL_FINAL",
    "inpaint": "LINEAGE_MODEL_INPAINT",
    "upscale": "LINEAGE_MODEL_UPSCALE",
}
ENV_NAME_PREFIX = "env-"
"""What a variable points at is registered as ``env-<tier>`` (e.g. ``env-draft``)."""


def refresh(store: EventStore) -> Registry:
    """Read the registry from the store and make it this process's view."""
    registry, _ = load_registry(store)
    model_registry.use(registry)
    return registry


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
