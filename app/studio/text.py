"""Text people typed, made safe to show: invisible characters made visible.

Autoescaping keeps markup inert; this keeps a name honest. Bidirectional overrides and
isolates (U+202A-U+202E, U+2066-U+2069), marks (U+200E, U+200F, U+061C) and zero-width
characters (U+200B-U+200D, U+2060, U+FEFF) can make "gnp.exe" read as "exe.png" or two
different names look alike, so every such character is shown as a visible ``[U+XXXX]``.
Every string a studio template prints passes through :func:`visible` (the Jinja
environment's ``finalize``), so no template can forget it.
"""

from __future__ import annotations

import re

INVISIBLE = re.compile(
    "[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")


def visible(value: object) -> object:
    """``value`` with every invisible or direction-changing character replaced by its
    code point in brackets; non-strings and markup the templates built pass unchanged."""
    if type(value) is not str:  # Markup (a str subclass) is the templates' own output
        return value
    return INVISIBLE.sub(_code_point, value) if INVISIBLE.search(value) else value


def _code_point(match: re.Match[str]) -> str:
    return f"[U+{ord(match.group()):04X}]"


def finalize(value: object) -> object:
    """Jinja ``finalize``: None prints as nothing, strings as :func:`visible` text."""
    if value is None:
        return ""
    return visible(value)

