"""This process's view of the model registry (commands/model_catalog.py): pure, so the
engine imports no database layer (workers/model_sync.py fills it from the store).

A worker refreshes the view before each job (the registry is one short stream), so a
model registered or a tier reassigned while it runs is used from the next job on. With
no view (a tool calling the engine directly) tiers fall back to the variables alone.
"""

from __future__ import annotations

import threading

from commands.model_catalog import Registry
from events.errors import NotFound
from events.models import ModelRegistered

_lock = threading.Lock()
_view: Registry | None = None


def use(registry: Registry) -> None:
    """Make ``registry`` this process's view."""
    global _view
    with _lock:
        _view = registry


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
