"""ComfyUI graphs (`prompt` API graph, `workflow` UI document) → recipe fields.

Which sampler: ComfyUI graphs often hold several (hires fix, refiners, Stable Cascade
stage B). We take the *first pass*: among sampler nodes that are wired to anything,
the one with no other sampler upstream of it; ties go to the lowest node id in
natural order ("3" < "11" < "4:4" sorted by parts). The chosen node and the others
are named in `extra` and a warning. The first pass is what carries the prompt, seed
and base size; later passes refine it.

All walks over the graph are iterative and bounded (node count, depth, visited
sets), so a cyclic or enormous graph costs little and never recurses.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from interchange.metadata_common import (
    MAX_GUIDANCE,
    MAX_STEPS,
    RecipeBuilder,
    scalar_text,
)

Graph = dict[str, tuple[str, dict[str, Any]]]  # node id → (class_type, inputs)

_MAX_NODES = 5_000
_MAX_DEPTH = 24
_MAX_SAMPLERS = 50
_TEXT_INPUTS = ("text", "text_g", "text_l", "prompt", "positive", "string", "value", "t5xxl",
                "clip_l", "wildcard_text", "populated_text")
_SEED_INPUTS = ("seed", "noise_seed", "value", "seed_value", "int", "number")
_MODEL_NAME_INPUTS = ("ckpt_name", "unet_name", "model_name", "base_ckpt_name", "model_path",
                      "gguf_name")
_VIA = ("guider", "sampler", "sigmas", "noise")  # SamplerCustom(Advanced) helpers
_TEMPLATE_HINTS = ("dprandom", "dpcombinatorial", "wildcard", "dynamicprompt", "dpjinja")
_IMG2IMG_HINTS = ("vaeencode", "loadlatent")
_INPAINT_HINTS = ("inpaint", "setlatentnoisemask")


def graph_from_prompt(prompt: Any, builder: RecipeBuilder) -> Graph:
    """Validate a parsed `prompt` (API graph) into {id: (class_type, inputs)}."""
    graph: Graph = {}
    if not isinstance(prompt, dict):
        builder.warn(f"prompt: expected a JSON object, got {type(prompt).__name__}")
        return graph
    skipped = 0
    for node_id, node in prompt.items():
        if len(graph) >= _MAX_NODES:
            builder.warn(f"prompt: more than {_MAX_NODES} nodes; the rest ignored")
            break
        inputs = node.get("inputs") if isinstance(node, dict) else None
        class_type = node.get("class_type") if isinstance(node, dict) else None
        if not isinstance(inputs, dict) or not isinstance(class_type, str):
            skipped += 1
            continue
        graph[str(node_id)] = (class_type, inputs)
    if skipped:
        builder.warn(f"prompt: {skipped} malformed node(s) ignored")
    return graph


# Widget order of common core nodes, to read values out of a `workflow` document.
_WIDGETS: dict[str, tuple[str, ...]] = {
    "KSampler": ("seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler",
                 "denoise"),
    "KSamplerAdvanced": ("add_noise", "noise_seed", "control_after_generate", "steps", "cfg",
                         "sampler_name", "scheduler", "start_at_step", "end_at_step",
                         "return_with_leftover_noise"),
    "SamplerCustom": ("add_noise", "noise_seed", "control_after_generate", "cfg"),
    "RandomNoise": ("noise_seed", "control_after_generate"),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "CFGGuider": ("cfg",),
    "CLIPTextEncode": ("text",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "CheckpointLoader": ("config_name", "ckpt_name"),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "PrimitiveNode": ("value", "control_after_generate"),
}


def graph_from_workflow(workflow: Any, builder: RecipeBuilder) -> Graph:
    """Best-effort API-style graph from a LiteGraph `workflow` document.

    Only core nodes listed in `_WIDGETS` get named widget values; muted (mode 2) and
    bypassed (mode 4) nodes are dropped; group nodes and subgraphs are not expanded.
    """
    graph: Graph = {}
    nodes = workflow.get("nodes") if isinstance(workflow, dict) else None
    if not isinstance(nodes, list):
        builder.warn("workflow: no node list")
        return graph
    links: dict[str, tuple[str, int]] = {}
    raw_links = workflow.get("links")
    for link in raw_links[: 4 * _MAX_NODES] if isinstance(raw_links, list) else []:
        if isinstance(link, list) and len(link) >= 3:
            link_id, origin, slot = scalar_text(link[0]), scalar_text(link[1]), link[2]
        elif isinstance(link, dict):
            link_id, origin = scalar_text(link.get("id")), scalar_text(link.get("origin_id"))
            slot = link.get("origin_slot")
        else:
            continue
        if link_id is not None and origin is not None and isinstance(slot, int):
            links[link_id] = (origin, slot)
    unexpanded = 0
    for node in nodes[:_MAX_NODES]:
        node_id = scalar_text(node.get("id")) if isinstance(node, dict) else None
        if node_id is None or not isinstance(node.get("type"), str):
            continue
        if node.get("mode") in (2, 4):
            continue
        class_type = node["type"]
        if class_type.startswith(("workflow>", "workflow/")) or _looks_like_uuid(class_type):
            unexpanded += 1
        inputs: dict[str, Any] = {}
        widgets = node.get("widgets_values")
        if isinstance(widgets, list):
            inputs.update(zip(_WIDGETS.get(class_type, ()), widgets, strict=False))
        elif isinstance(widgets, dict):
            inputs.update({str(k): v for k, v in widgets.items()})
        slots = node.get("inputs")
        for slot in slots if isinstance(slots, list) else []:
            if isinstance(slot, dict) and isinstance(slot.get("name"), str):
                source = links.get(scalar_text(slot.get("link")) or "")
                if source is not None:
                    inputs[slot["name"]] = [source[0], source[1]]
        graph[node_id] = (class_type, inputs)
    if unexpanded:
        builder.warn(f"workflow: {unexpanded} group node(s)/subgraph(s) not expanded")
    return graph


def extract_from_graph(graph: Graph, builder: RecipeBuilder, label: str) -> bool:
    """Fill `builder` from the first-pass sampler of `graph`; False if none was found."""
    samplers = [node_id for node_id, (class_type, _) in graph.items() if _is_sampler(class_type)]
    if not samplers:
        builder.warn(f"{label}: no sampler node found")
        return False
    total = len(samplers)
    samplers = samplers[:_MAX_SAMPLERS]  # each costs a walk of the graph
    upstream = {node_id: _upstream(graph, node_id) for node_id in samplers}
    chosen = min(samplers, key=lambda node_id: (
        not _is_wired(graph[node_id][1]),
        any(other in upstream[node_id] for other in samplers if other != node_id),
        _natural_key(node_id)))
    class_type, inputs = graph[chosen]
    builder.add_extra("comfyui_sampler_node", f"{chosen} ({class_type})")
    if total > 1:
        others = ", ".join(sorted((s for s in samplers if s != chosen), key=_natural_key))
        builder.add_extra("comfyui_other_samplers", others)
        builder.warn(f"{label}: {total} sampler nodes; recipe taken from node {chosen} "
                     "(first pass: no other sampler upstream), others in extra"
                     + (f"; only the first {_MAX_SAMPLERS} were considered"
                        if total > _MAX_SAMPLERS else ""))
    source = f"{label} node {chosen}"
    seed_link = _lookup(graph, inputs, ("seed", "noise_seed"))
    seed = _resolve_scalar(graph, seed_link, _SEED_INPUTS)
    if seed is None and seed_link is not None:
        builder.warn(f"{source}: seed is computed by another node at run time; left out")
    builder.set_seed(seed, source)
    builder.set_int("steps", _resolve_scalar(graph, _lookup(graph, inputs, ("steps",)),
                                             ("steps", "value")),
                    source, low=1, high=MAX_STEPS)
    builder.set_float("guidance", _resolve_scalar(graph, _lookup(graph, inputs, ("cfg",)),
                                                  ("cfg", "value")),
                      source, low=-MAX_GUIDANCE, high=MAX_GUIDANCE)
    builder.set_text("sampler", _resolve_scalar(graph, _lookup(graph, inputs, ("sampler_name",)),
                                                ("sampler_name", "value")), source)
    builder.set_text("scheduler", _resolve_scalar(graph, _lookup(graph, inputs, ("scheduler",)),
                                                  ("scheduler", "value")), source)
    for field, names in (("prompt", ("positive", "conditioning")), ("negative_prompt",
                                                                    ("negative",))):
        _extract_prompt(graph, _lookup(graph, inputs, names), field, builder, source)
    _extract_model(graph, _lookup(graph, inputs, ("model",)), builder, source)
    _extract_latent(graph, inputs, builder, source)
    return True


def _extract_prompt(graph: Graph, link: Any, field: str, builder: RecipeBuilder,
                    source: str) -> None:
    """Follow conditioning links back to the first literal prompt text."""
    start = _link_target(link, graph)
    if start is None:
        return
    # Depth-first in input order, so the first conditioning input's chain is followed to
    # its end. Each entry remembers whether its path passed a dynamic-prompt node, whose
    # output (the final text) differs from the template literal found further up.
    stack, seen = [(start, 0, False)], set()
    while stack:
        node_id, depth, template = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        class_type, inputs = graph[node_id]
        template = template or any(hint in class_type.lower() for hint in _TEMPLATE_HINTS)
        for name in _TEXT_INPUTS:
            value = inputs.get(name)
            if isinstance(value, str) and not (name == "value" and value == ""):
                if template:
                    builder.add_extra(f"{field}_template", value)
                    builder.warn(f"{source}: {field} is built at run time by a dynamic-prompt "
                                 "node; its template is in extra, the final text is not stored")
                else:
                    builder.set_text(field, value, source)
                return
        if depth >= _MAX_DEPTH or len(seen) > _MAX_NODES:
            continue
        followed = []
        for name, value in inputs.items():
            target = _link_target(value, graph)
            lowered = name.lower()
            if target and target not in seen and "clip" not in lowered and (
                    "cond" in lowered or "text" in lowered or lowered in _TEXT_INPUTS):
                followed.append((target, depth + 1, template))
        stack.extend(reversed(followed))
    builder.warn(f"{source}: no literal text found for {field}")


def _extract_model(graph: Graph, link: Any, builder: RecipeBuilder, source: str) -> None:
    """Follow the model link back to the loader; LoRAs passed on the way go to extra."""
    node_id, loras = _link_target(link, graph), []
    for _ in range(_MAX_DEPTH):
        if node_id is None:
            break
        _, inputs = graph[node_id]
        if isinstance(inputs.get("lora_name"), str):
            strength = scalar_text(inputs.get("strength_model", 1)) or "?"
            loras.append(f"{inputs['lora_name']}:{strength}")
        name = next((inputs[key] for key in _MODEL_NAME_INPUTS if isinstance(inputs.get(key),
                                                                               str)), None)
        if name is not None:
            builder.set_text("model_name", name, source)
            break
        node_id = _link_target(inputs.get("model"), graph) or next(
            (_link_target(value, graph) for key, value in inputs.items()
             if "model" in key.lower() and _link_target(value, graph)), None)
    if loras:
        builder.add_extra("loras", ", ".join(loras))


def _extract_latent(graph: Graph, inputs: dict[str, Any], builder: RecipeBuilder,
                    source: str) -> None:
    """Operation, size and strength from the nodes feeding the sampler's latent."""
    start = _link_target(inputs.get("latent_image") or inputs.get("latent"), graph)
    classes: list[str] = []
    if start is not None:
        _, latent_inputs = graph[start]
        width = _resolve_scalar(graph, latent_inputs.get("width"), ("value", "int", "width"))
        height = _resolve_scalar(graph, latent_inputs.get("height"), ("value", "int", "height"))
        if width is not None or height is not None:
            builder.set_size(width, height, source)
        elif "width" in latent_inputs:
            builder.warn(f"{source}: image size is computed at run time; left out")
        classes = [graph[node_id][0].lower() for node_id in _upstream(graph, start, True)]
    if any("outpaint" in cls for cls in classes):
        operation = "outpaint"
    elif any(hint in cls for cls in classes for hint in _INPAINT_HINTS):
        operation = "inpaint"
    elif any(hint in cls for cls in classes for hint in _IMG2IMG_HINTS):
        operation = "img2img"
    else:
        operation = "generate"
    builder.set_operation(operation)
    denoise = _resolve_scalar(graph, _lookup(graph, inputs, ("denoise",)), ("denoise", "value"))
    if operation != "generate":
        builder.set_float("strength", denoise, source, low=0.0, high=1.0)
    elif denoise is not None:
        builder.add_extra("denoise", denoise)


def _is_sampler(class_type: str) -> bool:
    lowered = class_type.lower()
    return ("ksampler" in lowered or lowered.startswith("samplercustom")) and not any(
        word in lowered for word in ("select", "save", "provider", "pipe"))


def _is_wired(inputs: dict[str, Any]) -> bool:
    return any(_is_link(value) for value in inputs.values())


def _is_link(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)
            and not isinstance(value[0], bool) and isinstance(value[1], int))


def _link_target(value: Any, graph: Graph | None = None) -> str | None:
    """The source node id of a link input, or None (also for dangling links)."""
    if not _is_link(value):
        return None
    target = value[0] if isinstance(value[0], str) else repr(value[0])
    return target if graph is None or target in graph else None


def _lookup(graph: Graph, inputs: dict[str, Any], names: tuple[str, ...]) -> Any:
    """A sampler input by name, or the same input on a SamplerCustom helper node."""
    for name in names:
        if name in inputs:
            return inputs[name]
    for via in _VIA:
        target = _link_target(inputs.get(via), graph)
        if target is not None:
            helper = graph[target][1]
            for name in names:
                if name in helper:
                    return helper[name]
    return None


def _resolve_scalar(graph: Graph, value: Any, names: tuple[str, ...]) -> Any:
    """A literal, or a literal found by following links through primitive nodes."""
    for _ in range(_MAX_DEPTH):
        if not _is_link(value):
            return value
        target = _link_target(value, graph)
        if target is None:
            return None
        inputs = graph[target][1]
        value = next((inputs[name] for name in names if name in inputs), None)
    return None


def _upstream(graph: Graph, start: str, include_start: bool = False) -> set[str]:
    """Every node id reachable backwards through links from `start`."""
    seen: set[str] = {start} if include_start else set()
    queue = deque([start])
    while queue and len(seen) < _MAX_NODES:
        for value in graph[queue.popleft()][1].values():
            target = _link_target(value, graph)
            if target is not None and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _natural_key(node_id: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"[:.]", node_id)[:8])


def _looks_like_uuid(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                             text))
