"""InvokeAI metadata, newest format first.

- `invokeai_metadata` (3.x onward): flat JSON; `invokeai_graph` fills what it lacks
  (workflow-editor images keep their prompt only in graph string nodes).
- `sd-metadata` (lstein v1.15 to InvokeAI 2.3): JSON with `image` or, for grids,
  `images` (the first entry is used); `Dream` fills what it lacks.
- `Dream` (2022): a dream.py command line, `"prompt" -s 50 -S 42 -W 512 ...`.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from interchange.metadata_common import (
    MAX_GUIDANCE,
    MAX_SIDE,
    MAX_STEPS,
    RecipeBuilder,
    scalar_text,
)

_MAX_EDGES = 20_000
_MAX_DEPTH = 8
_MAX_DREAM_CHARS = 64 * 1024


def _operation_from_mode(mode: Any) -> str | None:
    """Lineage operation for InvokeAI's generation_mode / type ("sdxl_txt2img", ...)."""
    if not isinstance(mode, str):
        return None
    lowered = mode.lower()
    for hint, operation in (("outpaint", "outpaint"), ("inpaint", "inpaint"),
                            ("img2img", "img2img"), ("txt2img", "generate")):
        if hint in lowered:
            return operation
    return None


def _set_common(builder: RecipeBuilder, data: dict, source: str) -> None:
    """The fields every JSON generation of InvokeAI names the same way."""
    builder.set_seed(data.get("seed"), source)
    builder.set_int("steps", data.get("steps"), source, low=1, high=MAX_STEPS)
    builder.set_float("guidance", data.get("cfg_scale"), source, low=-MAX_GUIDANCE,
                      high=MAX_GUIDANCE)
    builder.set_size(data.get("width"), data.get("height"), source)


def _set_model(builder: RecipeBuilder, model: Any, source: str) -> None:
    """3.x `{model_name, base_model}`, 4.x+ `{key, hash, name, base}`, or a plain name."""
    if isinstance(model, str):
        builder.set_text("model_name", model, source)
    elif isinstance(model, dict):
        builder.set_text("model_name", model.get("name") or model.get("model_name"), source)
        builder.set_text("model_hash", model.get("hash"), source)
        builder.add_extra("model_base", model.get("base") or model.get("base_model"))


def _keep_rest(builder: RecipeBuilder, data: dict, mapped: set[str]) -> None:
    """Unmapped, non-empty settings go to extra."""
    for key, value in list(data.items())[:200]:
        if key not in mapped and value not in (None, "", [], {}):
            builder.add_extra(key, value)


_METADATA_MAPPED = {"generation_mode", "positive_prompt", "negative_prompt", "seed", "steps",
                    "cfg_scale", "scheduler", "width", "height", "strength", "model",
                    "app_version"}


def parse_invokeai_metadata(meta: Any, builder: RecipeBuilder) -> str | None:
    """Fill `builder` from parsed `invokeai_metadata`; returns app_version if any."""
    if not isinstance(meta, dict):
        builder.warn(f"invokeai_metadata: expected a JSON object, got {type(meta).__name__}")
        return None
    source = "invokeai_metadata"
    operation = _operation_from_mode(meta.get("generation_mode"))
    if operation:
        builder.set_operation(operation)
    builder.set_text("prompt", meta.get("positive_prompt"), source)
    builder.set_text("negative_prompt", meta.get("negative_prompt"), source)
    _set_common(builder, meta, source)
    builder.set_text("scheduler", meta.get("scheduler"), source)
    if operation not in (None, "generate"):
        builder.set_float("strength", meta.get("strength"), source, low=0.0, high=1.0)
    _set_model(builder, meta.get("model"), source)
    _keep_rest(builder, meta, _METADATA_MAPPED)
    version = meta.get("app_version")
    return version[:64] if isinstance(version, str) else None


def fill_from_invokeai_graph(graph: Any, builder: RecipeBuilder) -> None:
    """Fill fields still missing from an `invokeai_graph` (edges win over literals,
    because InvokeAI leaves stale literals on inputs that an edge feeds)."""
    source = "invokeai_graph"
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    edges = graph.get("edges") if isinstance(graph, dict) else None
    if not isinstance(nodes, dict):
        builder.warn(f"{source}: no node map")
        return
    incoming: dict[tuple[str, str], tuple[str, str]] = {}
    for edge in edges[:_MAX_EDGES] if isinstance(edges, list) else []:
        src = edge.get("source") if isinstance(edge, dict) else None
        dst = edge.get("destination") if isinstance(edge, dict) else None
        if isinstance(src, dict) and isinstance(dst, dict):
            ends = [scalar_text(end.get(part)) for end in (dst, src)
                    for part in ("node_id", "field")]
            if None not in ends:
                incoming.setdefault((ends[0], ends[1]), (ends[2], ends[3]))
    nodes = {k: v for k, v in nodes.items() if isinstance(v, dict)}

    def value_of(node_id: str, field: str) -> Any:
        for _ in range(_MAX_DEPTH):
            if (node_id, field) not in incoming:
                return nodes.get(node_id, {}).get(field)
            node_id, out_field = incoming[(node_id, field)]
            node = nodes.get(node_id, {})
            # Primitive nodes (string, integer, ...) output their "value" input.
            field = "value" if "value" in node else out_field
        return None

    by_type: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        by_type.setdefault(scalar_text(node.get("type")) or "", []).append(node_id)
    core = (by_type.get("core_metadata") or by_type.get("metadata_accumulator") or [None])[0]
    if core is not None:
        core_source = f"{source} {core}"
        builder.set_text("prompt", value_of(core, "positive_prompt"), core_source)
        builder.set_text("negative_prompt", value_of(core, "negative_prompt"), core_source)
        for field in ("seed", "steps", "cfg_scale", "width", "height", "scheduler"):
            _set_graph_field(builder, field, value_of(core, field), core_source)
    denoise = next((i for t, ids in by_type.items() if "denoise" in t for i in ids), None)
    if denoise is not None:
        for field in ("steps", "cfg_scale", "scheduler"):
            _set_graph_field(builder, field, value_of(denoise, field), f"{source} {denoise}")
        for field, conditioning in (("prompt", "positive_conditioning"),
                                    ("negative_prompt", "negative_conditioning")):
            if not builder.has(field):
                builder.set_text(field, _prompt_behind(denoise, conditioning, incoming,
                                                       value_of), source)
    for noise in by_type.get("noise", [])[:1]:
        if (noise, "seed") in incoming or not builder.has("seed"):
            seed = value_of(noise, "seed")
            # An edge from a non-primitive (iterate, counter) leaves no usable literal.
            _set_graph_field(builder, "seed", seed if isinstance(seed, int) else None, source)
        for field in ("width", "height"):
            _set_graph_field(builder, field, value_of(noise, field), source)
    loader = next((i for t, ids in by_type.items() if t.endswith("model_loader") for i in ids),
                  None)
    if loader is not None:
        _set_model(builder, nodes[loader].get("model"), source)


def _set_graph_field(builder: RecipeBuilder, field: str, value: Any, source: str) -> None:
    if field == "seed":
        builder.set_seed(value, source)
    elif field == "steps":
        builder.set_int("steps", value, source, low=1, high=MAX_STEPS)
    elif field == "cfg_scale":
        builder.set_float("guidance", value, source, low=-MAX_GUIDANCE, high=MAX_GUIDANCE)
    elif field in ("width", "height"):
        builder.set_int(field, value, source, low=1, high=MAX_SIDE)
    elif field == "scheduler":
        builder.set_text("scheduler", value, source)


def _prompt_behind(node_id: str, field: str, incoming: dict, value_of: Any) -> str | None:
    """Walk edges back from a conditioning input to the first non-empty prompt."""
    frontier = [(node_id, field)]
    for _ in range(_MAX_DEPTH):
        next_frontier = []
        for key in frontier:
            if key not in incoming:
                continue
            source_id = incoming[key][0]
            prompt = value_of(source_id, "prompt")
            if isinstance(prompt, str) and prompt:
                return prompt
            next_frontier += [k for k in incoming if k[0] == source_id][:16]
        frontier = next_frontier[:32]  # bounded breadth: a fan-in bomb costs nothing
    return None


def parse_sd_metadata(meta: Any, builder: RecipeBuilder) -> str | None:
    """Fill `builder` from parsed `sd-metadata`; returns app_version if any."""
    source = "sd-metadata"
    if not isinstance(meta, dict):
        builder.warn(f"{source}: expected a JSON object, got {type(meta).__name__}")
        return None
    image = meta.get("image")
    images = meta.get("images")
    if not isinstance(image, dict) and isinstance(images, list) and images:
        image = images[0]
        seeds = [entry.get("seed") for entry in images[:64] if isinstance(entry, dict)]
        builder.add_extra("grid_seeds", ", ".join(scalar_text(seed) or "?" for seed in seeds))
        builder.warn(f"{source}: grid of {len(images)} images; recipe from the first")
    if not isinstance(image, dict):
        builder.warn(f"{source}: no image entry")
        image = {}
    postprocessing = image.get("postprocessing")
    if isinstance(postprocessing, list) and postprocessing:
        tools = [scalar_text(step.get("tool")) or "?" for step in postprocessing[:64]
                 if isinstance(step, dict)]
        builder.add_extra("postprocessing", postprocessing)
        if any(tool in ("outcrop", "outpaint") for tool in tools):
            builder.set_operation("outpaint")
        builder.warn(f"{source}: image was post-processed ({', '.join(tools)[:80]}); "
                     "the recipe describes the generation before it")
    operation = _operation_from_mode(image.get("type"))
    if operation:
        builder.set_operation(operation)
    builder.set_text("prompt", _joined_prompt(image.get("prompt"), builder), source)
    _set_common(builder, image, source)
    builder.set_text("sampler", image.get("sampler"), source)
    if operation == "img2img":
        strength = image.get("strength", image.get("strength_steps"))
        builder.set_float("strength", strength, source, low=0.0, high=1.0)
    builder.set_text("model_hash", meta.get("model_hash"), source)
    builder.set_text("model_name", meta.get("model_id") or meta.get("model"), source)
    builder.add_extra("app_id", meta.get("app_id"))
    _keep_rest(builder, image, {"prompt", "seed", "steps", "cfg_scale", "width", "height",
                                "sampler", "type", "strength", "strength_steps",
                                "postprocessing"})
    version = meta.get("app_version")
    return version[:64] if isinstance(version, str) else None


def _joined_prompt(prompt: Any, builder: RecipeBuilder) -> str | None:
    """`[{"prompt", "weight"}]` → text; several weighted parts as `text:weight` pairs."""
    if isinstance(prompt, str) or prompt is None:
        return prompt
    if not isinstance(prompt, list):
        builder.warn(f"sd-metadata: prompt is a {type(prompt).__name__}; left out")
        return None
    parts = [p for p in prompt[:64] if isinstance(p, dict) and isinstance(p.get("prompt"), str)]
    if len(parts) == 1 and parts[0].get("weight", 1.0) == 1.0:
        return parts[0]["prompt"]
    return " ".join(f"{p['prompt']}:{scalar_text(p.get('weight', 1.0)) or 1.0}"
                    for p in parts) or None


# dream.py flags that take a value, by short and long name → recipe use.
_DREAM_FLAGS = {"s": "steps", "S": "seed", "W": "width", "H": "height", "C": "cfg",
                "A": "sampler", "I": "init_img", "f": "strength", "V": "with_variations",
                "G": "gfpgan_strength", "U": "upscale", "n": "iterations", "M": "init_mask",
                "v": "variation_amount"}
_DREAM_LONG = {name: name for name in _DREAM_FLAGS.values()} | {
    "cfg_scale": "cfg", "sampler_name": "sampler"}


def parse_dream(text: str, builder: RecipeBuilder) -> None:
    """Fill `builder` from a `Dream` command line (values are text, so no type warnings)."""
    source = "Dream"
    grid = re.search(r"#\s*\[([\d,\s]{1,2000})\]\s*$", text)
    if grid:
        builder.add_extra("grid_seeds", ", ".join(grid.group(1).replace(",", " ").split()))
        text = text[: grid.start()]
    # -I can hold a whole data: URL; it is useless in a recipe and slow to tokenise.
    text = re.sub(r"data:[^\s\"']{64,}", "data:<omitted>", text)  # linear; text is <= 1 MiB
    if len(text) > _MAX_DREAM_CHARS:
        builder.warn(f"{source}: command cut to {_MAX_DREAM_CHARS} chars")
        text = text[:_MAX_DREAM_CHARS]
    try:
        tokens = shlex.split(text)
    except ValueError:
        builder.warn(f"{source}: unbalanced quotes; split on spaces")
        tokens = text.split()
    prompt: list[str] = []
    values: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not re.match(r"--?[A-Za-z]", token):
            if values:
                builder.add_extra(f"dream_arg_{index}", token)
            else:
                prompt.append(token)
            continue
        if token.startswith("--"):
            name, _, glued = token[2:].partition("=")
            name = _DREAM_LONG.get(name, name)
            takes_value = name in _DREAM_LONG.values()
        else:
            name, glued = _DREAM_FLAGS.get(token[1], token[1]), token[2:]
            takes_value = token[1] in _DREAM_FLAGS
        if not glued and takes_value and index < len(tokens):
            glued = tokens[index]
            index += 1
        values.setdefault(name, glued or "true")
    builder.set_text("prompt", " ".join(prompt), source)
    if "init_mask" in values:
        builder.set_operation("inpaint")
    elif "init_img" in values:
        builder.set_operation("img2img")
    else:
        builder.set_operation("generate")
    builder.set_seed(values.pop("seed", None), source, strict=False)
    builder.set_int("steps", values.pop("steps", None), source, low=1, high=MAX_STEPS,
                    strict=False)
    builder.set_float("guidance", values.pop("cfg", None), source, low=-MAX_GUIDANCE,
                      high=MAX_GUIDANCE, strict=False)
    builder.set_size(values.pop("width", None), values.pop("height", None), source, strict=False)
    builder.set_text("sampler", values.pop("sampler", None), source)
    strength = values.pop("strength", None)
    if "init_img" in values:
        builder.set_float("strength", strength, source, low=0.0, high=1.0, strict=False)
    else:
        builder.add_extra("strength", strength)
    if "with_variations" in values:
        builder.warn(f"{source}: image mixes variation seeds ({values['with_variations'][:60]}); "
                     "the seed alone does not reproduce it")
    for name, value in values.items():
        builder.add_extra(name, value)

