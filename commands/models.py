"""The model registry: register models and LoRA adapters (as inspected on disk), assign
tiers, and read the registry. Stream ``models-registry``.

Pure decisions (``decide_register``, ``decide_assign``) over a folded ``Registry``; the
inspection of files is the caller's (workers/model_files.py), so commands never touch
weights.
"""

from __future__ import annotations

from typing import Any

from commands.asset_state import iso
from commands.model_catalog import NAME, Registry, apply
from commands.state import execute, fold
from events.domain import stream_id
from events.errors import DomainError
from events.models import MODEL_KINDS, MODEL_TIERS, ModelRegistered, ModelTierAssigned
from events.store import EventStore, Metadata, StreamAppend
from events.types import Event

REGISTRY_STREAM = stream_id("models", "registry")


def load_registry(store: EventStore) -> tuple[Registry, int]:
    return fold(store, REGISTRY_STREAM, Registry(), apply)


def decide_register(registry: Registry, inspected: dict[str, Any], name: str,
                    tier: str | None, source: str = "cli") -> list[Event]:
    """Events for registering ``inspected`` (workers.model_files.inspect_model's answer)
    under ``name`` and, optionally, assigning ``tier`` to it. Nothing when the name
    already holds the same weights (and the tier already names it).

    Raises DomainError for a bad name, a LoRA given a tier, or an unknown tier.
    """
    if not NAME.match(name):
        raise DomainError(f"model name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit", field="name")
    if inspected["kind"] not in MODEL_KINDS:
        raise DomainError(f"unknown model kind {inspected['kind']!r}")
    events: list[Event] = []
    old = registry.entries.get(name)
    if old is None or old.event.weights_hash != inspected["weights_hash"] or \
            old.event.spec != inspected["spec"] or old.event.config != inspected.get("config"):
        events.append(ModelRegistered(
            name=name, kind=inspected["kind"], spec=inspected["spec"], path=inspected["path"],
            family=inspected["family"], pipeline_class=inspected["pipeline_class"],
            components=list(inspected["components"]), files=dict(inspected["files"]),
            weights_hash=inspected["weights_hash"], source=source,
            config=inspected.get("config")))
    if tier is not None:
        if inspected["kind"] != "pipeline":
            raise DomainError(f"{name!r} is a LoRA adapter; a tier names a model "
                              "(apply LoRAs by name in a generation or edit)", field="tier")
        events.extend(decide_assign(registry, tier, name, known=True))
    return events


def decide_assign(registry: Registry, tier: str, name: str, *, known: bool = False,
                  ) -> list[Event]:
    if tier not in MODEL_TIERS:
        raise DomainError(f"unknown tier {tier!r}; expected one of {', '.join(MODEL_TIERS)}",
                          field="tier")
    if not known and registry.entry(name).event.kind != "pipeline":
        raise DomainError(f"{name!r} is a LoRA adapter; a tier names a model", field="tier")
    if registry.tiers.get(tier) == name:
        return []
    return [ModelTierAssigned(tier=tier, name=name)]


def register_model(store: EventStore, meta: Metadata, inspected: dict[str, Any], name: str,
                   tier: str | None = None, source: str = "cli") -> tuple[dict[str, Any], bool]:
    """Register (or re-register) a model; returns (its entry body, whether anything was
    recorded)."""

    def plan() -> list[StreamAppend]:
        registry, version = load_registry(store)
        events = decide_register(registry, inspected, name, tier, source)
        return [StreamAppend(REGISTRY_STREAM, "models", version, events)] if events else []

    recorded = execute(store, meta, plan)
    registry, _ = load_registry(store)
    return entry_body(registry, name), bool(recorded)


def assign_tier(store: EventStore, meta: Metadata, tier: str, name: str) -> dict[str, Any]:
    def plan() -> list[StreamAppend]:
        registry, version = load_registry(store)
        events = decide_assign(registry, tier, name)
        return [StreamAppend(REGISTRY_STREAM, "models", version, events)] if events else []

    execute(store, meta, plan)
    registry, _ = load_registry(store)
    return entry_body(registry, name)


def entry_body(registry: Registry, name: str) -> dict[str, Any]:
    entry = registry.entry(name)
    e = entry.event
    return {
        "name": e.name, "kind": e.kind, "family": e.family, "pipeline_class": e.pipeline_class,
        "spec": e.spec, "path": e.path, "config": e.config,
        "components": list(e.components),
        "files": [{"path": p, "sha256": h} for p, h in sorted(e.files.items())],
        "weights_hash": e.weights_hash, "source": e.source,
        "tiers": sorted(t for t, n in registry.tiers.items() if n == name),
        "revision": entry.revisions, "previous_weights_hashes": list(entry.previous_hashes),
        "registered_at": iso(entry.registered_at),
    }


def list_models(store: EventStore, kind: str | None = None) -> dict[str, Any]:
    """Every registered model and adapter (by name) and which model each tier runs."""
    registry, _ = load_registry(store)
    items = [entry_body(registry, name) for name in sorted(registry.entries)
             if kind is None or registry.entries[name].event.kind == kind]
    return {"items": items, "tiers": {t: registry.tiers.get(t) for t in MODEL_TIERS}}


RECIPE_EXTRAS = ("model", "loras", "prompt_2", "prompt_3", "negative_prompt_2",
                 "negative_prompt_3", "max_sequence_length", "true_cfg_scale", "refiner")
"""Request fields a generation or edit passes to its recipe as sent: the registered model
to run instead of the tier's, LoRAs by name and scale, and family keys (the engine refuses
a family key its model's family does not take; an SDXL refiner follows generations only)."""


def recipe_extras(store: EventStore, params: dict[str, Any]) -> dict[str, Any]:
    """The extras of a request, after checking that ``model`` and the refiner's model name
    registered models and every LoRA a registered adapter. Raises DomainError (with
    ``field``)."""
    extras = {key: params[key] for key in RECIPE_EXTRAS if params.get(key) is not None}
    if not {"model", "loras", "refiner"} & set(extras):
        return extras
    registry, _ = load_registry(store)
    for field, name in (("model", extras.get("model")),
                        ("refiner", (extras.get("refiner") or {}).get("model"))):
        entry = registry.entries.get(name) if name is not None else None
        if name is not None and (entry is None or entry.event.kind != "pipeline"):
            raise DomainError(f"{name!r} is not a registered model "
                              f"(`lineage models list` shows them)", field=field)
    for item in extras.get("loras", []):
        entry = registry.entries.get(item["name"])
        if entry is None or entry.event.kind != "lora":
            raise DomainError(f"{item['name']!r} is not a registered LoRA adapter", field="loras")
    if "loras" in extras:
        extras["loras"] = [{"name": i["name"], "scale": i.get("scale", 1.0)}
                           for i in extras["loras"]]
    return extras
