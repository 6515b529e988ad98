"""Import generation metadata from other tools' PNGs; export recipes in A1111 layout.

Public API:

- `read_text_chunks(png)` → (text values by keyword, warnings): bounded chunk reader.
- `parse_generation_metadata(png)` → `ImportedMetadata` or None.
- `format_a1111_parameters(recipe)` → AUTOMATIC1111 `parameters` text.

Which chunks win when a file carries several formats (checked in this order):

1. `invokeai_metadata` / `invokeai_graph` → InvokeAI 3+ (metadata first, graph fills gaps).
2. `sd-metadata` / `Dream` → InvokeAI 1.x-2.x (sd-metadata first, Dream fills gaps).
3. `prompt` / `workflow` → ComfyUI. The API graph (`prompt`) is authoritative, then the
   UI `workflow`. A saver's A1111-style `parameters` chunk fills what the graph leaves
   to run time (dynamic prompts, computed sizes; see png_metadata_merge.py), and each
   disagreement with the graph is a warning (savers are known to write placeholder
   values, e.g. prompt "unknown", which never fill anything). With no sampler in the
   graph the recipe is read from `parameters`.
4. `parameters` → AUTOMATIC1111 / Forge (told apart by the `Version` setting).

Pure: no I/O, no framework imports; nothing here raises on hostile bytes.
"""

from __future__ import annotations

from typing import Any

from interchange.a1111 import (
    detect_tool,
    format_a1111_parameters,
    parse_a1111_parameters,
)
from interchange.comfyui import (
    extract_from_graph,
    graph_from_prompt,
    graph_from_workflow,
)
from interchange.invokeai import (
    fill_from_invokeai_graph,
    parse_dream,
    parse_invokeai_metadata,
    parse_sd_metadata,
)
from interchange.loras import collect_loras
from interchange.merge import merge_parameters
from interchange.metadata_common import ImportedMetadata, RecipeBuilder, load_json
from interchange.png_chunks import read_text_chunks, read_text_chunks_detailed

__all__ = [
    "ImportedMetadata",
    "format_a1111_parameters",
    "parse_generation_metadata",
    "read_text_chunks",
]

_MAX_VERSION_CHARS = 64
# In precedence order (dicts keep insertion order).
_KEY_TOOLS = {"invokeai_metadata": "invokeai", "invokeai_graph": "invokeai",
              "sd-metadata": "invokeai", "Dream": "invokeai", "prompt": "comfyui",
              "workflow": "comfyui", "parameters": "automatic1111"}


def parse_generation_metadata(png: bytes) -> ImportedMetadata | None:
    """Recover the generation recipe another tool embedded in a PNG.

    Takes the PNG file's bytes. Returns None when no known metadata key is present
    (including for damaged or non-PNG input; `read_text_chunks` says why). Otherwise
    returns an `ImportedMetadata` even when the metadata is malformed or its chunk was
    skipped as hostile: fields that could not be read are left out of the recipe and
    `warnings` explains each. The chunk reader's warnings (truncation, CRC, oversized
    values) are included. Never raises.
    """
    values, chunk_warnings, skipped = read_text_chunks_detailed(png)
    tool = _tool_for(values, skipped)
    if tool is None:
        return None
    builder = RecipeBuilder()
    for warning in chunk_warnings:
        builder.warn(warning)
    version, loras, merged = None, [], None
    try:
        if tool == "invokeai" and ("invokeai_metadata" in values or "invokeai_graph" in values):
            version = _invokeai_v3(values, builder)
            if "parameters" in values:
                merged = merge_parameters(values["parameters"], builder,
                                          primary="InvokeAI metadata")
        elif tool == "invokeai" and ("sd-metadata" in values or "Dream" in values):
            version = _invokeai_legacy(values, builder)
        elif tool == "comfyui" and ("prompt" in values or "workflow" in values):
            version, merged = _comfyui(values, builder)
        elif "parameters" in values:
            tool, version = detect_tool(parse_a1111_parameters(values["parameters"], builder))
        loras = collect_loras(values, builder)
    except Exception as exc:  # noqa: BLE001 - see below
        # Last resort: the parsers are written not to raise, and the tests fuzz them to
        # check it, but importing an untrusted file must not take a request down with
        # it. Whatever was read before the fault is kept.
        builder.warn(f"importer error ({type(exc).__name__}); partial result")
    return ImportedMetadata(tool=tool, tool_version=version[:_MAX_VERSION_CHARS] if version
                            else None, recipe=builder.build(), warnings=list(builder.warnings),
                            loras=loras, merged=merged)


def _tool_for(values: dict[str, str], skipped: set[str]) -> str | None:
    """The tool whose keys are present, in the precedence order of the module docstring.

    A known key whose chunk was unusable (oversized, zip bomb, bad zlib) still names
    the tool, so the caller gets the chunk reader's warning rather than a silent None.
    """
    for keys in (values, skipped):
        for key, tool in _KEY_TOOLS.items():
            if key in keys:
                return tool
    return None


def _invokeai_v3(values: dict[str, str], builder: RecipeBuilder) -> str | None:
    version = None
    builder.add_extra("invokeai_format", "invokeai_metadata")
    if "invokeai_metadata" in values:
        meta = load_json(values["invokeai_metadata"], "invokeai_metadata", builder)
        version = parse_invokeai_metadata(meta, builder)
    if "invokeai_graph" in values:
        graph = load_json(values["invokeai_graph"], "invokeai_graph", builder)
        fill_from_invokeai_graph(graph, builder)
    if "invokeai_workflow" in values:
        builder.add_extra("invokeai_workflow", "present")
    return version


def _invokeai_legacy(values: dict[str, str], builder: RecipeBuilder) -> str | None:
    version = None
    if "sd-metadata" in values:
        builder.add_extra("invokeai_format", "sd-metadata")
        meta = load_json(values["sd-metadata"], "sd-metadata", builder)
        version = parse_sd_metadata(meta, builder)
    else:
        builder.add_extra("invokeai_format", "Dream")
    if "Dream" in values:
        parse_dream(values["Dream"], builder)
    return version


def _comfyui(values: dict[str, str],
             builder: RecipeBuilder) -> tuple[str | None, dict[str, Any] | None]:
    workflow: Any = None
    merged = None
    if "workflow" in values:
        workflow = load_json(values["workflow"], "workflow", builder)
    found = False
    if "prompt" in values:
        prompt = load_json(values["prompt"], "prompt", builder)
        if prompt is not None:
            found = extract_from_graph(graph_from_prompt(prompt, builder), builder, "prompt")
    if not found and workflow is not None:
        found = extract_from_graph(graph_from_workflow(workflow, builder), builder, "workflow")
        if found:
            builder.warn("recipe read from the UI workflow (no usable API prompt graph); "
                         "widget values of custom nodes are not interpreted")
    if "parameters" in values:
        if found:
            merged = merge_parameters(values["parameters"], builder, primary="ComfyUI graph")
        else:
            builder.warn("no sampler in the ComfyUI graph; recipe read from the "
                         "`parameters` chunk")
            parse_a1111_parameters(values["parameters"], builder)
    frontend = None
    if isinstance(workflow, dict) and isinstance(workflow.get("extra"), dict):
        frontend = workflow["extra"].get("frontendVersion")
    return (f"frontend {frontend}" if isinstance(frontend, str) else None), merged
