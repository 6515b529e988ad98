"""Panels of the asset and version pages: where tools that make images plug in.

A panel is a template drawn in the page's side column with the page's whole context
(``asset``, ``current`` version, ``role``, ``csrf_token``, ``pending_jobs``…). To add
one, write ``templates/studio/panels/<name>.html`` (post its forms to a view that
answers with :func:`app.studio.web.answered`) and list a :class:`Panel` below; panels
are drawn in list order, only for roles at least ``min_role`` and never "as of" a past
moment (the past cannot be changed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rules.access import CREATOR, RANK, VIEWER


@dataclasses.dataclass(frozen=True)
class Panel:
    name: str
    """Its element id and the file name of its template."""
    title: str
    min_role: str = VIEWER

    @property
    def template(self) -> str:
        return f"studio/panels/{self.name}.html"


ASSET_PANELS: tuple[Panel, ...] = (
    Panel("generate", "Make images", min_role=CREATOR),
    Panel("making_jobs", "Jobs", min_role=CREATOR),
    Panel("making_edits", "Edit this version", min_role=CREATOR),
)
VERSION_PANELS: tuple[Panel, ...] = ()


def _shown(panels: tuple[Panel, ...], context: dict[str, Any]) -> list[Panel]:
    if context.get("as_of") is not None:
        return []
    return [panel for panel in panels if RANK[context["role"]] >= RANK[panel.min_role]]


def asset_panels(context: dict[str, Any]) -> list[Panel]:
    """The asset page's panels for this context."""
    return _shown(ASSET_PANELS, context)


def version_panels(context: dict[str, Any]) -> list[Panel]:
    """The version page's panels for this context."""
    return _shown(VERSION_PANELS, context)
