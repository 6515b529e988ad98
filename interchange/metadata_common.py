"""Shared pieces of the PNG metadata importers: the result type, bounded JSON
loading and a recipe builder that only ever holds JSON-safe, range-checked values.

Everything here is pure and never raises on hostile input: a value that cannot be
used is left out of the recipe and a warning says why, because an importer that
crashes on one odd file is worse than one that imports a little less.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_PROMPT_CHARS = 10_000
MAX_SHORT_TEXT_CHARS = 256  # sampler, scheduler, model names
MAX_EXTRA_ENTRIES = 64
MAX_EXTRA_KEY_CHARS = 100
MAX_EXTRA_VALUE_CHARS = 2_000
MAX_WARNINGS = 100
MAX_SEED = 2**64 - 1
MAX_STEPS = 10_000
MAX_SIDE = 65_535  # larger than any real generation; keeps absurd sizes out
MAX_GUIDANCE = 1_000.0

PROMPT_FIELDS = ("prompt", "negative_prompt")
_INT_TEXT = re.compile(r"[+-]?\d{1,30}")


@dataclass(frozen=True)
class ImportedMetadata:
    """Generation metadata recovered from another tool's PNG.

    `tool` is "automatic1111", "forge", "comfyui" or "invokeai"; `tool_version` carries
    the writer's own version string or variant where the file names one. `recipe` holds
    JSON primitives only (see `RecipeBuilder`), with unmapped settings under "extra".
    `loras` lists the LoRAs any source names (png_metadata_loras.py); `merged` says
    which sources were merged when the file holds two (png_metadata_merge.py).
    """

    tool: str
    tool_version: str | None
    recipe: dict
    warnings: list[str] = field(default_factory=list)
    loras: list[dict] = field(default_factory=list)
    merged: dict | None = None


class RecipeBuilder:
    """Collects recipe fields from one or more sources, first source wins.

    Setters coerce and range-check their value; a value that does not fit is left out
    with a warning. `strict` sources (JSON) warn when a number arrives as a string;
    text sources (A1111 `parameters`, InvokeAI `Dream`) are all strings by nature.
    """

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.extra: dict[str, str] = {}
        self.warnings: list[str] = []
        self._extra_dropped = 0

    def warn(self, message: str) -> None:
        """Record a warning; the list is capped so a hostile file cannot flood it."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("further warnings suppressed")

    def has(self, name: str) -> bool:
        """Whether `name` already holds a value."""
        return name in self.fields

    def set_text(self, name: str, value: Any, source: str) -> bool:
        """Set a string field (prompts capped at 10,000 chars, others at 256)."""
        if value is None or name in self.fields:
            return False
        if not isinstance(value, str):
            self.warn(f"{source}: {name} is a {type(value).__name__}, not text; left out")
            return False
        cap = MAX_PROMPT_CHARS if name in PROMPT_FIELDS else MAX_SHORT_TEXT_CHARS
        self.fields[name] = self._clean_text(value, cap, f"{source}: {name}")
        return True

    def set_int(self, name: str, value: Any, source: str, *, low: int, high: int,
                strict: bool = True) -> bool:
        """Set an integer field within [low, high]; integral floats are accepted."""
        if value is None or name in self.fields:
            return False
        number = self._to_int(name, value, source, strict)
        if number is None:
            return False
        if not low <= number <= high:
            self.warn(f"{source}: {name} {_preview(value)} is outside {low}..{high}; left out")
            return False
        self.fields[name] = number
        return True

    def set_seed(self, value: Any, source: str, *, strict: bool = True) -> bool:
        """Set the seed: an integer in 0..2^64-1 (what every tool's RNG accepts)."""
        return self.set_int("seed", value, source, low=0, high=MAX_SEED, strict=strict)

    def set_float(self, name: str, value: Any, source: str, *, low: float, high: float,
                  strict: bool = True) -> bool:
        """Set a finite float field within [low, high]."""
        if value is None or name in self.fields:
            return False
        number: float | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int | float):
            number = float(value) if abs(value) < 1e300 else math.inf
        elif isinstance(value, str):
            try:
                number = float(value.strip()[:64])
            except ValueError:
                number = None
            if number is not None and strict:
                self.warn(f"{source}: {name} given as a string; converted")
        if number is None:
            self.warn(f"{source}: {name} {_preview(value)} is not a number; left out")
            return False
        if not math.isfinite(number):
            self.warn(f"{source}: {name} is not finite (NaN/inf); left out")
            return False
        if not low <= number <= high:
            self.warn(f"{source}: {name} {number!r} is outside {low}..{high}; left out")
            return False
        self.fields[name] = number
        return True

    def set_size(self, width: Any, height: Any, source: str, *, strict: bool = True) -> None:
        """Set width and height (1..65535 each)."""
        self.set_int("width", width, source, low=1, high=MAX_SIDE, strict=strict)
        self.set_int("height", height, source, low=1, high=MAX_SIDE, strict=strict)

    def set_operation(self, operation: str) -> None:
        """Set the Lineage operation name unless one is already known."""
        self.fields.setdefault("operation", operation)

    def add_extra(self, key: Any, value: Any) -> None:
        """Keep an unmapped setting as a bounded string; first value for a key wins."""
        if value is None:
            return
        key_text = self._clean_text(str(key), MAX_EXTRA_KEY_CHARS, None)
        if key_text in self.extra:
            return
        if len(self.extra) >= MAX_EXTRA_ENTRIES:
            self._extra_dropped += 1
            return
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
            text = json.dumps(value)
        else:
            text = dump_json_text(value)
            if text is None:
                self.warn(f"extra {key_text!r}: value could not be serialised; left out")
                return
        self.extra[key_text] = self._clean_text(text, MAX_EXTRA_VALUE_CHARS, None)

    def build(self) -> dict:
        """The recipe: mapped fields plus "extra" (always present, maybe empty)."""
        if self._extra_dropped:
            self.warn(f"{self._extra_dropped} extra settings dropped (limit {MAX_EXTRA_ENTRIES})")
            self._extra_dropped = 0
        recipe = dict(self.fields)
        recipe["extra"] = dict(self.extra)
        return recipe

    def _to_int(self, name: str, value: Any, source: str, strict: bool) -> int | None:
        if isinstance(value, bool):
            self.warn(f"{source}: {name} is a boolean; left out")
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if math.isfinite(value) and value.is_integer():
                if strict:
                    self.warn(f"{source}: {name} given as a float; converted")
                return int(value)
            self.warn(f"{source}: {name} {_preview(value)} is not a whole number; left out")
            return None
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            if strict:
                self.warn(f"{source}: {name} given as a string; converted")
            return int(value.strip())
        self.warn(f"{source}: {name} {_preview(value)} is not an integer; left out")
        return None

    def _clean_text(self, text: str, cap: int, label: str | None) -> str:
        # PostgreSQL JSONB rejects U+0000 and UTF-8 cannot carry lone surrogates (which
        # JSON "\ud800" escapes produce), so both are removed before anything is stored.
        cleaned = text.replace("\x00", "")
        if any("\ud800" <= ch <= "\udfff" for ch in cleaned):
            cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
        if label and cleaned != text:
            self.warn(f"{label}: NUL or unpaired surrogate characters removed")
        if len(cleaned) > cap:
            if label:
                self.warn(f"{label}: {len(cleaned)} characters cut to {cap}")
            cleaned = cleaned[:cap]
        return cleaned


def load_json(text: str, label: str, builder: RecipeBuilder) -> Any | None:
    """Parse JSON leniently but safely; returns None (with a warning) when unusable.

    Bare NaN/Infinity (which ComfyUI's `json.dumps` writes) become None with a warning;
    nesting deep enough to exhaust the parser's recursion guard is reported, not raised.
    """
    non_finite: list[str] = []

    def constant(name: str) -> None:
        non_finite.append(name)
        return None

    try:
        value = json.loads(text, parse_constant=constant)
    except RecursionError:
        builder.warn(f"{label}: JSON nested too deeply; ignored")
        return None
    except ValueError as exc:  # JSONDecodeError, and int strings past the digit limit
        builder.warn(f"{label}: invalid JSON ({str(exc)[:120]}); ignored")
        return None
    if non_finite:
        builder.warn(f"{label}: JSON holds {len(non_finite)} non-standard constant(s) "
                     f"({non_finite[0]}); read as null")
    return value


def dump_json_text(value: Any) -> str | None:
    """Compact JSON text for `value`, or None if it is too deep or not serialisable."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=str,
                          separators=(",", ":"))
    except (RecursionError, ValueError, TypeError):
        return None


def scalar_text(value: Any) -> str | None:
    """`value` as text when it is a string or a number, else None.

    Used wherever a hostile file controls a value we turn into text (ids, names): str()
    of a deeply nested list would recurse, and a list cannot be a dict key.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if abs(value) < 10**30 else None
    return None


def _preview(value: Any) -> str:
    """A short, safe rendering of a bad value for warning text."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - repr of hostile data must not escape
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."
