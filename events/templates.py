"""Reusable recipes. Stream: ``template-<id>``; its stream version is the template version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.types import Event, event


@event("template.created")
@dataclass(frozen=True, kw_only=True)
class TemplateCreated(Event):
    """``prompt`` holds ``{variables}``; ``parameters`` are generation defaults."""

    template_id: str
    project_id: str
    name: str
    prompt: str
    parameters: dict[str, Any] = field(default_factory=dict)
    negative_prompt: str = ""


@event("template.revised")
@dataclass(frozen=True, kw_only=True)
class TemplateRevised(Event):
    prompt: str
    parameters: dict[str, Any] = field(default_factory=dict)
    negative_prompt: str = ""
