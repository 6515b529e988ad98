"""LoRA adapters in a generation or edit: ``loras: [{name, scale}]`` in a recipe.

Each name must be a registered adapter (``lineage models add NAME FILE``). The recipe
records every adapter's name, scale and the SHA-256 of its file (``weights_hash``); a
recipe fed back in (a rebuild) demands that hash, so changed adapter weights stop it
the way changed model weights do. Adapters are loaded once into the cached pipeline
(keyed by name and hash) and switched per call: the ones a recipe names are activated
at their scales, and a recipe naming none runs with every adapter disabled, which gives
the same bytes as a pipeline that never loaded one.
"""

from __future__ import annotations

import re
from typing import Any

from events.errors import DomainError, NotFound
from rules.recipes import MAX_LORA_SCALE, MAX_LORAS
from workers import model_registry
from workers.models import ModelUnavailable


def resolve(out: dict[str, Any]) -> list[dict[str, Any]]:
    """Check ``out["loras"]`` and return the adapters with their file paths; the recipe's
    list becomes [{name, scale, weights_hash}]. Raises DomainError for a malformed list and
    ModelUnavailable for an adapter not registered or whose weights changed."""
    given = out.get("loras") or []
    if not isinstance(given, list) or len(given) > MAX_LORAS:
        raise DomainError(f"loras must be a list of at most {MAX_LORAS} {{name, scale}}")
    resolved, recorded = [], []
    for item in given:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise DomainError("each LoRA is an object {name, scale}")
        scale = item.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or \
                not -MAX_LORA_SCALE <= scale <= MAX_LORA_SCALE:
            raise DomainError(f"the scale of LoRA {item['name']!r} must be a number in "
                              f"-{MAX_LORA_SCALE:g}..{MAX_LORA_SCALE:g}, not {scale!r}")
        try:
            entry = model_registry.adapter(item["name"])
        except NotFound as exc:
            raise ModelUnavailable(f"LoRA {item['name']!r} is not available: {exc.detail}",
                                   lora=item["name"]) from exc
        wanted = item.get("weights_hash")
        if wanted is not None and wanted != entry.weights_hash:
            raise ModelUnavailable(
                f"registry entry {entry.name!r} (LoRA {entry.path}) has weights "
                f"{entry.weights_hash}, but the recipe needs weights {wanted}",
                model_name=entry.name, expected_weights_hash=wanted,
                actual_weights_hash=entry.weights_hash)
        recorded.append({"name": entry.name, "scale": float(scale),
                         "weights_hash": entry.weights_hash})
        resolved.append({**recorded[-1], "path": entry.path})
    if len({item["name"] for item in recorded}) != len(recorded):
        raise DomainError("a LoRA may be named once per step")
    if recorded:
        out["loras"] = recorded
    else:
        out.pop("loras", None)
    return resolved


def activate(pipe: Any, adapters: list[dict[str, Any]]) -> None:  # noqa: ANN401
    """Load any adapter ``pipe`` lacks, then activate exactly ``adapters`` at their scales
    (none: every loaded adapter disabled). Call while holding the pipeline's run lock."""
    loaded = {name for names in _loaded(pipe).values() for name in names}
    if not adapters:
        if loaded:
            pipe.disable_lora()
        return
    if not hasattr(pipe, "load_lora_weights"):
        raise DomainError(f"{type(pipe).__name__} takes no LoRA adapters")
    names = []
    for adapter in adapters:
        key = adapter_key(adapter["name"], adapter["weights_hash"])
        if key not in loaded:
            path = adapter["path"]
            folder, _, file_name = path.rpartition("/")
            pipe.load_lora_weights(folder or ".", weight_name=file_name, adapter_name=key)
        names.append(key)
    pipe.enable_lora()
    pipe.set_adapters(names, adapter_weights=[a["scale"] for a in adapters])


def adapter_key(name: str, weights_hash: str) -> str:
    """The adapter's name inside the pipeline: per name and weights (no dots allowed)."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)}-{weights_hash[:16]}"


def _loaded(pipe: Any) -> dict[str, list[str]]:  # noqa: ANN401
    if not hasattr(pipe, "get_list_adapters"):
        return {}
    return pipe.get_list_adapters()
