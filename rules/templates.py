"""A template prompt's ``{variables}``: the rule the write side validates with and the
read side lists by. Pure."""

from __future__ import annotations

import re

from events.errors import DomainError

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]{0,63})\}|\{|\}")


def variables_of(prompt: str) -> list[str]:
    """The ``{variable}`` names in ``prompt`` in first-use order; ``{{``/``}}`` are literal
    braces. Raises DomainError for a stray brace or a malformed name."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(prompt):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise DomainError(
                f"stray {token!r} at character {match.start()} of the prompt: write "
                "{name} for a variable (letters, digits, _) or {{ and }} for literal braces")
        if match.group(1) not in names:
            names.append(match.group(1))
    return names
