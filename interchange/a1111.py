"""AUTOMATIC1111 / Forge `parameters` text: reading it into a recipe and writing it.

Layout (see the import corpus README):

    <prompt, any number of lines>
    Negative prompt: <negative, any number of lines>        (optional)
    Steps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, ...

The settings line is the last line starting with `Steps:`. Its values are bare text
up to the next comma, a JSON-quoted string (A1111 quotes values holding `,`, `:` or
newlines with `json.dumps`), or a JSON object/array (`Hashes: {...}`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from interchange.metadata_common import (
    MAX_GUIDANCE,
    MAX_STEPS,
    RecipeBuilder,
    load_json,
)

_SOURCE = "parameters"
_NEGATIVE_PREFIX = "Negative prompt:"
_SETTINGS_PREFIX = "Steps:"
_KEY = re.compile(r"[A-Za-z][\w \-/.+()]{0,99}")
_SIZE = re.compile(r"\s*(\d{1,6})\s*x\s*(\d{1,6})\s*")
_MAX_SETTINGS = 500
_MAX_SETTINGS_LINE = 64 * 1024  # real lines are < 4 KiB; bounds the work on hostile input
_MAX_SEGMENTS = 2_000
_EDIT_KEYS = ("mask blur", "inpaint area", "masked content", "inpainting fill",
              "only masked padding, pixels", "mask mode")

# Settings that map onto recipe fields; everything else goes to "extra".
_MAPPED = {"steps", "sampler", "schedule type", "cfg scale", "seed", "size", "model hash",
           "model", "denoising strength", "version", "refiner", "refiner switch at"}
# `Refiner: sd_xl_refiner_1.0 [7440042bbd]`: the checkpoint's name and short hash.
_REFINER = re.compile(r"(.*?)\s*\[([0-9A-Fa-f]{8,64})\]")


def detect_tool(version: str | None) -> tuple[str, str | None]:
    """(tool, tool_version) from the `Version:` setting (absent in early-2023 files)."""
    if not version:
        return "automatic1111", None
    lowered = version.lower()
    if lowered == "comfyui":
        return "comfyui", None
    if re.match(r"f\d", lowered) or lowered.startswith(("neo", "classic")):
        return "forge", version
    if "forge" in lowered or "classic" in lowered:
        return "forge", version
    return "automatic1111", version


def parse_a1111_parameters(text: str, builder: RecipeBuilder) -> str | None:
    """Fill `builder` from a `parameters` value; returns the `Version` setting if any.

    Fields that cannot be parsed are left out with a warning. Never raises.
    """
    if not text.strip():
        builder.warn(f"{_SOURCE}: value is empty")
        return None
    lines = [line.rstrip("\u200b\r") for line in text.split("\n")]
    settings_index = next((i for i in range(len(lines) - 1, -1, -1)
                           if lines[i].lstrip().startswith(_SETTINGS_PREFIX)), None)
    body = lines if settings_index is None else lines[:settings_index]
    if settings_index is None:
        builder.warn(f"{_SOURCE}: no settings line starting with 'Steps:'; prompt only")
    else:
        trailing = "\n".join(lines[settings_index + 1 :]).strip()
        if trailing:
            builder.warn(f"{_SOURCE}: text after the settings line kept in extra")
            builder.add_extra("trailing text", trailing)
    negative_index = next((i for i, line in enumerate(body)
                           if line.lstrip().startswith(_NEGATIVE_PREFIX)), None)
    prompt_lines = body if negative_index is None else body[:negative_index]
    builder.set_text("prompt", "\n".join(prompt_lines).strip(), _SOURCE)
    if negative_index is None:
        # A1111 leaves the line out exactly when the negative prompt is empty.
        builder.set_text("negative_prompt", "", _SOURCE)
    else:
        first = body[negative_index].lstrip()[len(_NEGATIVE_PREFIX) :]
        negative = "\n".join([first, *body[negative_index + 1 :]]).strip()
        builder.set_text("negative_prompt", negative, _SOURCE)
    if settings_index is None:
        return None
    pairs = split_settings(lines[settings_index].strip(), builder)
    _apply_settings({key: value for key, (_, value) in pairs.items()}, builder)
    for key, (name, value) in pairs.items():
        if key not in _MAPPED or (key == "denoising strength" and not builder.has("strength")):
            builder.add_extra(name, value)
    return pairs["version"][1] if "version" in pairs else None


def split_settings(line: str, builder: RecipeBuilder) -> dict[str, tuple[str, str]]:
    """`Key: value, Key: value` → {lower-cased key: (key, value)}; first one wins.

    Quoted values are unescaped; JSON object/array values are kept as their text.
    A segment without `Key:` (a bare comma inside an unquoted value) is appended to
    the previous value, which is what the writer meant, unless that value is one of
    the mapped settings (numbers, names), which never hold commas.
    """
    result: dict[str, tuple[str, str]] = {}
    if len(line) > _MAX_SETTINGS_LINE:
        builder.warn(f"{_SOURCE}: settings line of {len(line)} chars cut to {_MAX_SETTINGS_LINE}")
        line = line[:_MAX_SETTINGS_LINE]
    position, last_key, segments, dropped_fragment = 0, None, 0, False
    json_values = [True]  # switched off after one unbalanced value so scans stay linear
    while position < len(line) and len(result) < _MAX_SETTINGS and segments < _MAX_SEGMENTS:
        segments += 1
        while position < len(line) and line[position] in " ,":
            position += 1
        if position >= len(line):
            break
        match = _KEY.match(line, position)
        colon = match.end() if match else -1
        if match is None or colon >= len(line) or line[colon] != ":":
            segment_end = _find(line, ",", position)
            fragment = line[position:segment_end].strip()
            if last_key is not None and last_key not in _MAPPED:
                name, value = result[last_key]
                result[last_key] = (name, f"{value}, {fragment}")
            elif not dropped_fragment:
                dropped_fragment = True
                builder.warn(f"{_SOURCE}: settings fragment {fragment[:40]!r} has no key; "
                             "ignored")
            position = segment_end
            continue
        key = match.group(0).strip()
        position = colon + 1
        while position < len(line) and line[position] == " ":
            position += 1
        value, position = _read_value(line, position, key, builder, json_values)
        lowered = key.lower()
        if lowered in result:
            last_key = None
            continue
        result[lowered] = (key, value)
        last_key = lowered
    return result


def _read_value(line: str, position: int, key: str, builder: RecipeBuilder,
                json_values: list[bool]) -> tuple[str, int]:
    """Read one value starting at `position`; returns (value, position after it)."""
    if position < len(line) and line[position] == '"':
        end = position + 1
        while end < len(line) and line[end] != '"':
            end += 2 if line[end] == "\\" else 1
        if end >= len(line):
            builder.warn(f"{_SOURCE}: unterminated quoted value for {key!r}")
            return line[position + 1 :], len(line)
        quoted = line[position : end + 1]
        try:
            value = json.loads(quoted)
        except ValueError:
            value = quoted[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return (value if isinstance(value, str) else quoted), end + 1
    if json_values[0] and position < len(line) and line[position] in "{[":
        end = _matching_bracket(line, position)
        if end is not None:
            return line[position : end + 1], end + 1
        json_values[0] = False
        builder.warn(f"{_SOURCE}: unbalanced JSON value for {key!r}")
    end = _find(line, ",", position)
    return line[position:end].strip(), end


def _matching_bracket(line: str, start: int) -> int | None:
    """Index of the bracket closing the one at `start`, skipping JSON strings."""
    depth, index, in_string = 0, start, False
    while index < len(line):
        char = line[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _find(line: str, char: str, start: int) -> int:
    found = line.find(char, start)
    return len(line) if found < 0 else found


def _apply_settings(settings: dict[str, str], builder: RecipeBuilder) -> None:
    """Map known settings onto recipe fields; the rest becomes "extra"."""
    keys = set(settings)
    hires = any(key.startswith("hires ") for key in keys)
    if any("outpaint" in key for key in keys):
        operation = "outpaint"
    elif keys.intersection(_EDIT_KEYS):
        operation = "inpaint"
    elif "denoising strength" in keys and not hires:
        operation = "img2img"
    else:
        operation = "generate"
    builder.set_operation(operation)
    builder.set_int("steps", settings.get("steps"), _SOURCE, low=1, high=MAX_STEPS, strict=False)
    builder.set_text("sampler", settings.get("sampler"), _SOURCE)
    builder.set_text("scheduler", settings.get("schedule type"), _SOURCE)
    builder.set_float("guidance", settings.get("cfg scale"), _SOURCE,
                      low=-MAX_GUIDANCE, high=MAX_GUIDANCE, strict=False)
    seed = settings.get("seed")
    if seed is not None and seed.strip() == "-1":
        builder.warn(f"{_SOURCE}: seed -1 means 'random'; left out")
    else:
        builder.set_seed(seed, _SOURCE, strict=False)
    size = settings.get("size")
    if size is not None:
        match = _SIZE.fullmatch(size)
        if match:
            builder.set_size(match.group(1), match.group(2), _SOURCE, strict=False)
        else:
            builder.warn(f"{_SOURCE}: size {size[:40]!r} is not WxH; left out")
    model_hash = settings.get("model hash") or _hash_from_hashes(settings.get("hashes"), builder)
    builder.set_text("model_hash", model_hash, _SOURCE)
    builder.set_text("model_name", settings.get("model"), _SOURCE)
    if operation != "generate":
        builder.set_float("strength", settings.get("denoising strength"), _SOURCE,
                          low=0.0, high=1.0, strict=False)
    _refiner(settings, builder)


def _refiner(settings: dict[str, str], builder: RecipeBuilder) -> None:
    """SDXL refiner use: `Refiner` (name [short hash]) and `Refiner switch at` (the part
    of the schedule the base model ran)."""
    refiner = settings.get("refiner")
    if refiner is None:
        return
    match = _REFINER.fullmatch(refiner.strip())
    builder.set_text("refiner_model_name", match.group(1) if match else refiner, _SOURCE)
    if match:
        builder.set_text("refiner_model_hash", match.group(2).lower(), _SOURCE)
    builder.set_float("refiner_switch_at", settings.get("refiner switch at"), _SOURCE,
                      low=0.0, high=1.0, strict=False)


def _hash_from_hashes(hashes: str | None, builder: RecipeBuilder) -> str | None:
    """The checkpoint hash from a `Hashes: {"model": ...}` JSON value, if present."""
    if not hashes:
        return None
    parsed = load_json(hashes, f"{_SOURCE}: Hashes", builder)
    model = parsed.get("model") if isinstance(parsed, dict) else None
    return model if isinstance(model, str) else None


def format_a1111_parameters(recipe: dict) -> str:
    """Write a Lineage recipe in the A1111 `parameters` layout.

    Takes a recipe dict with any of: prompt, negative_prompt, seed, steps, guidance,
    scheduler (written as `Sampler`; an imported recipe's `sampler`/`scheduler` pair is
    written as `Sampler`/`Schedule type`), width, height, strength, model_id (or
    model_name), model_weights_hash (or model_hash; first 10 hex digits, an
    `algo:` prefix dropped), operation and an SDXL ``refiner`` pass (`Refiner`,
    `Refiner switch at`). Missing or ill-typed values are left out.
    Returns the text; never raises. Values holding `,`, `:`, `"` or newlines are
    JSON-quoted as A1111 does. Leading/trailing whitespace of prompts is not kept, and
    a prompt line that itself starts with "Negative prompt:" cannot round-trip.
    """
    prompt = _text(recipe.get("prompt")) or ""
    negative = _text(recipe.get("negative_prompt")) or ""
    lines = [prompt.strip()]
    if negative.strip():
        lines.append(f"{_NEGATIVE_PREFIX} {negative.strip()}")
    settings: list[tuple[str, str]] = []
    steps = _whole(recipe.get("steps"))
    settings.append(("Steps", str(steps if steps is not None else 0)))
    sampler = _text(recipe.get("sampler"))
    scheduler = _text(recipe.get("scheduler"))
    if sampler:
        settings.append(("Sampler", sampler))
        if scheduler:
            settings.append(("Schedule type", scheduler))
    elif scheduler:
        settings.append(("Sampler", scheduler))
    guidance = _finite(recipe.get("guidance"))
    if guidance is not None:
        settings.append(("CFG scale", _number_text(guidance)))
    seed = _whole(recipe.get("seed"))
    if seed is not None:
        settings.append(("Seed", str(seed)))
    width, height = _whole(recipe.get("width")), _whole(recipe.get("height"))
    if width is not None and height is not None:
        settings.append(("Size", f"{width}x{height}"))
    weights_hash = _text(recipe.get("model_weights_hash")) or _text(recipe.get("model_hash"))
    if weights_hash:
        settings.append(("Model hash", weights_hash.rsplit(":", 1)[-1][:10]))
    model = _text(recipe.get("model_id")) or _text(recipe.get("model_name"))
    if model:
        settings.append(("Model", model))
    strength = _finite(recipe.get("strength"))
    if strength is not None and recipe.get("operation") not in ("generate", "upload"):
        settings.append(("Denoising strength", _number_text(strength)))
    settings.extend(_refiner_settings(recipe))
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in settings))
    return "\n".join(lines)


def _refiner_settings(recipe: dict) -> list[tuple[str, str]]:
    """`Refiner` and `Refiner switch at` for a recipe that ran an SDXL refiner pass."""
    refiner = recipe.get("refiner")
    if not isinstance(refiner, dict):
        return []
    name = _text(refiner.get("model_name")) or _text(refiner.get("model_id")) or "refiner"
    weights = _text(refiner.get("model_weights_hash"))
    switch_at = _finite(refiner.get("switch_at"))
    settings = [("Refiner", f"{name} [{weights[:10]}]" if weights else name)]
    if switch_at is not None:
        settings.append(("Refiner switch at", _number_text(switch_at)))
    return settings


def _quote(value: str) -> str:
    if any(char in value for char in ',:"\n\r') or value != value.strip():
        return json.dumps(value, ensure_ascii=False)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < 1e300 else math.inf
    return number if math.isfinite(number) else None


def _number_text(number: float) -> str:
    """Shortest text that parses back to the same float ("7" for 7.0)."""
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
