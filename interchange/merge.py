"""Merging two metadata sources found in one PNG.

A ComfyUI (or InvokeAI) graph is authoritative for what it states literally, but some of
its values exist only at run time: prompt text assembled by dynamic-prompt nodes, sizes
computed by math nodes, seeds drawn by seed nodes. An A1111-style ``parameters`` chunk
written beside the graph (by a saver node) holds those values as literals. Merging takes
the graph's fields first, fills each field the graph left out from ``parameters``, and
lists every field on which the two disagree as a warning. Savers known to write
placeholders ("unknown") are not allowed to fill anything with them, and a model hash is
taken from ``parameters`` only when its model name agrees with the graph's (a saver may
name another checkpoint than the one the graph loads).

The import result records what was merged (``merged``): the sources in precedence order,
which fields each filled, and the fields they disagree on.
"""

from __future__ import annotations

from typing import Any

from interchange.a1111 import parse_a1111_parameters
from interchange.metadata_common import RecipeBuilder

MERGED_FIELDS = ("prompt", "negative_prompt", "seed", "steps", "guidance", "width", "height",
                 "sampler", "scheduler", "model_name", "model_hash", "strength")
COMPARED_FIELDS = ("prompt", "negative_prompt", "seed", "steps", "guidance", "width",
                   "height", "model_name")
_PLACEHOLDERS = frozenset({"unknown", "none", "null", "undefined"})


def merge_parameters(text: str, builder: RecipeBuilder, *, primary: str) -> dict[str, Any]:
    """Fill what ``builder`` (already holding the ``primary`` source's fields) left out
    from the A1111 ``parameters`` ``text``; warn on each disagreement. Returns what was
    merged: ``{"sources", "filled", "disagreements"}``."""
    scratch = RecipeBuilder()
    parse_a1111_parameters(text, scratch)
    names_agree = _agree("model_name", scratch.fields.get("model_name"),
                         builder.fields.get("model_name"))
    differing = [name for name in COMPARED_FIELDS
                 if name in scratch.fields and name in builder.fields
                 and not _agree(name, scratch.fields[name], builder.fields[name])]
    filled: list[str] = []
    for name in MERGED_FIELDS:
        value = scratch.fields.get(name)
        if value is None or name in builder.fields:
            continue
        if isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS:
            builder.warn(f"`parameters` holds the placeholder {value!r} for {name}; not used")
            continue
        if name == "model_hash" and builder.fields.get("model_name") and not names_agree:
            builder.warn("`parameters` gives a model hash for another model name "
                         f"({scratch.fields.get('model_name')!r}); not used")
            continue
        builder.fields[name] = value
        filled.append(name)
    if filled:
        builder.warn(f"{', '.join(filled)} filled from the `parameters` chunk (the {primary} "
                     "leaves them to run time or does not state them)")
    if differing:
        builder.warn(f"`parameters` chunk disagrees with the {primary} on "
                     f"{', '.join(differing)}; the {primary} was used")
    return {"sources": [primary, "parameters"], "filled": {"parameters": filled},
            "disagreements": differing}


def _agree(field: str, a: Any, b: Any) -> bool:
    return _normalised(field, a) == _normalised(field, b)


def _normalised(field: str, value: Any) -> Any:
    if isinstance(value, str) and field != "model_name":
        return value.strip()
    # Model names differ by folder and file extension only between tools.
    if isinstance(value, str):
        name = value.strip().replace("\\", "/").rsplit("/", 1)[-1]
        for suffix in (".safetensors", ".ckpt", ".pt", ".bin"):
            name = name.removesuffix(suffix)
        return name.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
