"""LoRAs an imported PNG used, with their weights and hashes, from any source in it.

- AUTOMATIC1111 / Forge: ``<lora:name:weight>`` (or ``<lora:file:w_model:w_clip>``, as
  some ComfyUI savers write) in the prompt, and ``Lora hashes: "name: hash, ..."``.
- ComfyUI: ``LoraLoader`` / ``LoraLoaderModelOnly`` nodes (``lora_name``,
  ``strength_model``, ``strength_clip``) and rgthree's Power Lora Loader entries
  (``{"on", "lora", "strength"}``) in the API graph, else in the UI workflow.
- InvokeAI 3.x+: ``invokeai_metadata.loras`` (``{"lora": {"model_name"}, "weight"}`` in
  3.x, ``{"model": {"name", "hash"}, "weight"}`` from 4.x on).

The same LoRA named by several sources is one entry: a graph's weights win over a
``parameters`` chunk's, a hash from any source fills in, and differing weights are a
warning. Each entry is
``{"name", "weight", "weight_clip"?, "hash"?, "sources"}``. Pure; never raises.
"""

from __future__ import annotations

import math
import re
from typing import Any

from interchange.a1111 import parse_a1111_parameters
from interchange.comfyui import graph_from_prompt, graph_from_workflow
from interchange.metadata_common import MAX_SHORT_TEXT_CHARS, RecipeBuilder, load_json

MAX_LORAS = 64
_TAG = re.compile(r"<lora:([^:<>]{1,256}?)(?::([^:<>]{1,32}))?(?::([^:<>]{1,32}))?>",
                  re.IGNORECASE)


def collect_loras(values: dict[str, str], builder: RecipeBuilder) -> list[dict[str, Any]]:
    """Every LoRA the PNG's metadata names, merged by name (see the module docstring)."""
    found: dict[str, dict[str, Any]] = {}
    scratch = RecipeBuilder()  # re-reading the chunks must not repeat their warnings

    def add(name: Any, weight: Any, source: str, *, clip: Any = None,
            hash_: Any = None) -> None:
        if not isinstance(name, str) or not name.strip() or len(found) >= MAX_LORAS:
            return
        name = name.strip()[:MAX_SHORT_TEXT_CHARS]
        key = lora_key(name)
        entry = found.setdefault(key, {"name": name, "weight": _number(weight),
                                       "sources": []})
        if source not in entry["sources"]:
            entry["sources"].append(source)
        if entry.get("weight_clip") is None and _number(clip) is not None:
            entry["weight_clip"] = _number(clip)
        if isinstance(hash_, str) and hash_.strip() and not entry.get("hash"):
            entry["hash"] = hash_.strip()[:MAX_SHORT_TEXT_CHARS]
        number = _number(weight)
        if entry["weight"] is None:
            entry["weight"] = number
        elif number is not None and not math.isclose(number, entry["weight"]):
            builder.warn(f"LoRA {name!r}: weight {number:g} in {source} but "
                         f"{entry['weight']:g} in {entry['sources'][0]}; the first was kept")

    # Graphs first, as for the recipe: a saver's `parameters` chunk only fills in.
    if "prompt" in values or "workflow" in values:
        _from_comfyui(values, scratch, add)
    if "invokeai_metadata" in values:
        _from_invokeai(load_json(values["invokeai_metadata"], "invokeai_metadata", scratch),
                       add)
    if "parameters" in values:
        _from_a1111(values["parameters"], scratch, add)
    return list(found.values())


def lora_key(name: str) -> str:
    """A LoRA's name as tools disagree on it least: no folder, no extension, lower case."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".safetensors", ".ckpt", ".pt", ".bin"):
        base = base.removesuffix(suffix)
    return base.strip().lower()


def _from_a1111(text: str, scratch: RecipeBuilder, add: Any) -> None:
    parse_a1111_parameters(text, scratch)
    hashes: dict[str, str] = {}
    for item in (scratch.extra.get("Lora hashes") or "").split(","):
        name, _, value = item.rpartition(":")
        if name.strip() and value.strip():
            hashes[lora_key(name)] = value.strip()
    prompt = scratch.fields.get("prompt") or ""
    for match in _TAG.finditer(prompt):
        name, weight, clip = match.group(1), match.group(2), match.group(3)
        add(name, weight if weight is not None else 1.0, "automatic1111", clip=clip,
            hash_=hashes.get(lora_key(name)))
    for key, value in hashes.items():  # hashed but not named in the prompt (rare)
        add(key, None, "automatic1111", hash_=value)


def _from_comfyui(values: dict[str, str], scratch: RecipeBuilder, add: Any) -> None:
    graph = {}
    if "prompt" in values:
        graph = graph_from_prompt(load_json(values["prompt"], "prompt", scratch), scratch)
    if not graph and "workflow" in values:
        graph = graph_from_workflow(load_json(values["workflow"], "workflow", scratch), scratch)
    for _, inputs in graph.values():
        if isinstance(inputs.get("lora_name"), str):
            add(inputs["lora_name"], inputs.get("strength_model", 1.0), "comfyui",
                clip=inputs.get("strength_clip"))
        for value in inputs.values():  # rgthree Power Lora Loader: {"on", "lora", ...}
            if isinstance(value, dict) and isinstance(value.get("lora"), str) and \
                    value.get("on", True) is not False:
                add(value["lora"], value.get("strength", 1.0), "comfyui",
                    clip=value.get("strengthTwo"))


def _from_invokeai(meta: Any, add: Any) -> None:
    loras = meta.get("loras") if isinstance(meta, dict) else None
    for item in loras[:MAX_LORAS] if isinstance(loras, list) else []:
        if not isinstance(item, dict):
            continue
        model = item.get("model") if isinstance(item.get("model"), dict) else item.get("lora")
        if not isinstance(model, dict):
            continue
        add(model.get("name") or model.get("model_name"), item.get("weight"), "invokeai",
            hash_=model.get("hash"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and abs(value) < 1e6:
        return float(value)
    return None
