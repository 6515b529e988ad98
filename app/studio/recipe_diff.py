"""What differs between the recipes of two versions, as the compare page shows it.

Pure: takes two lineage chains (``GET /api/versions/{id}/lineage``: root → version,
each step with its recipe) and returns the prompt's words removed and added, the
parameters side by side (seed, model and weights hash, steps, guidance, scheduler,
size, strength, negative prompt) marked where they differ, and each version's chain of
operations.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

WORD = re.compile(r"[\w'’-]+|[^\w\s]", re.UNICODE)
PARAMETERS = (
    ("operation", "Operation"), ("tier", "Tier"), ("seed", "Seed"), ("model_id", "Model"),
    ("model_weights_hash", "Weights hash"), ("steps", "Steps"), ("guidance", "Guidance"),
    ("scheduler", "Scheduler"), ("size", "Size"), ("strength", "Strength"),
    ("negative_prompt", "Negative prompt"),
)


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    a: str
    b: str

    @property
    def changed(self) -> bool:
        return self.a != self.b


@dataclasses.dataclass(frozen=True)
class RecipeDiff:
    prompt_a: str
    prompt_b: str
    removed: list[str]
    """Words of A's prompt that B's lacks, in A's order."""
    added: list[str]
    """Words of B's prompt that A's lacks, in B's order."""
    words: list[tuple[str, str]]
    """B's prompt as (word, "added" | "same") with A's removed words as (word,
    "removed") where they stood: one line that reads as an edit."""
    rows: list[Row]
    chain_a: list[str]
    chain_b: list[str]

    @property
    def changed_count(self) -> int:
        return sum(row.changed for row in self.rows) + bool(self.removed or self.added)


def words_of(prompt: str | None) -> list[str]:
    return WORD.findall(prompt or "")


def diff_words(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    """A word-level edit from ``a`` to ``b`` (longest common subsequence, case-blind)."""
    la, lb = [w.lower() for w in a], [w.lower() for w in b]
    table = [[0] * (len(lb) + 1) for _ in range(len(la) + 1)]
    for i in range(len(la) - 1, -1, -1):
        for j in range(len(lb) - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if la[i] == lb[j]
                           else max(table[i + 1][j], table[i][j + 1]))
    out: list[tuple[str, str]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        if la[i] == lb[j]:
            out.append((b[j], "same"))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            out.append((a[i], "removed"))
            i += 1
        else:
            out.append((b[j], "added"))
            j += 1
    out.extend((word, "removed") for word in a[i:])
    out.extend((word, "added") for word in b[j:])
    return out


def _value(recipe: dict[str, Any], step: dict[str, Any], key: str) -> str:
    if key == "size":
        return f"{step['width']}×{step['height']}"
    if key in ("operation", "tier"):
        return str(step.get(key) or "")
    value = recipe.get(key)
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def effective_prompt(chain: list[dict[str, Any]]) -> str:
    """The prompt that shaped the last image: its own step's, or (for steps without one,
    like an adjustment or an upload) the nearest earlier step's."""
    for step in reversed(chain):
        prompt = (step.get("recipe") or {}).get("prompt")
        if prompt:
            return prompt
    return ""


def recipe_diff(chain_a: list[dict[str, Any]], chain_b: list[dict[str, Any]]) -> RecipeDiff:
    """The differences between the last steps of two chains (root first)."""
    step_a, step_b = chain_a[-1], chain_b[-1]
    recipe_a, recipe_b = step_a.get("recipe") or {}, step_b.get("recipe") or {}
    prompt_a, prompt_b = effective_prompt(chain_a), effective_prompt(chain_b)
    words = diff_words(words_of(prompt_a), words_of(prompt_b))
    rows = [Row(label, _value(recipe_a, step_a, key), _value(recipe_b, step_b, key))
            for key, label in PARAMETERS]
    return RecipeDiff(
        prompt_a=prompt_a, prompt_b=prompt_b,
        removed=[w for w, kind in words if kind == "removed"],
        added=[w for w, kind in words if kind == "added"], words=words,
        rows=[row for row in rows if row.a != "—" or row.b != "—"],
        chain_a=[step["operation"] for step in chain_a],
        chain_b=[step["operation"] for step in chain_b])
