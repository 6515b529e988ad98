"""Templates: reusable recipes whose prompt holds ``{variables}``. Stream ``template-<id>``;
its stream version is the template version a generation records."""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import datetime
from typing import Any

from commands.asset_state import iso
from commands.projects import Answer, hidden, load_project
from commands.state import ensure_same_request, execute, expected, first_of, fold, new_id
from commands.users import Principal
from events.domain import stream_id
from events.errors import DomainError, NotFound
from events.store import ANY, NO_STREAM, EventStore, Metadata, StreamAppend
from events.templates import TemplateCreated, TemplateRevised
from events.types import Event
from rules.access import CREATOR, require_role
from rules.templates import PLACEHOLDER, variables_of

"""A variable, a literal brace (doubled) or a stray brace."""


@dataclasses.dataclass
class TemplateState:
    template_id: str | None = None
    project_id: str | None = None
    name: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: datetime | None = None
    revised_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.template_id is not None


def apply(state: TemplateState, event: Event, at: datetime | None = None) -> None:
    match event:
        case TemplateCreated():
            state.template_id, state.project_id, state.name = (
                event.template_id, event.project_id, event.name)
            state.prompt, state.negative_prompt = event.prompt, event.negative_prompt
            state.parameters, state.created_at = dict(event.parameters), at
        case TemplateRevised():
            state.prompt, state.negative_prompt = event.prompt, event.negative_prompt
            state.parameters, state.revised_at = dict(event.parameters), at


def evolve(state: TemplateState, event: Event, at: datetime | None = None) -> TemplateState:
    after = copy.deepcopy(state)
    apply(after, event, at)
    return after


def render(prompt: str, variables: dict[str, str]) -> str:
    """Fill ``{variables}``; raises DomainError naming missing or unknown variables."""
    needed = variables_of(prompt)
    missing = [n for n in needed if n not in variables]
    unknown = sorted(set(variables) - set(needed))
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing variables: {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown variables: {', '.join(unknown)}")
        raise DomainError(f"{'; '.join(parts)} (the template uses: {', '.join(needed) or 'none'})",
                          missing=missing, unknown=unknown)

    def fill(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return variables[match.group(1)]

    return PLACEHOLDER.sub(fill, prompt)


def decide_create(template_id: str, project_id: str, name: str, prompt: str,
                  negative_prompt: str, parameters: dict[str, Any]) -> list[Event]:
    variables_of(prompt)
    return [TemplateCreated(template_id=template_id, project_id=project_id, name=name,
                            prompt=prompt, negative_prompt=negative_prompt,
                            parameters=parameters)]


def decide_revise(state: TemplateState, changes: dict[str, Any]) -> list[Event]:
    """A new template version with ``changes`` (prompt, negative_prompt, parameters)
    applied; nothing when they change nothing."""
    prompt = changes.get("prompt", state.prompt)
    negative = changes.get("negative_prompt", state.negative_prompt)
    parameters = changes.get("parameters", state.parameters)
    variables_of(prompt)
    if (prompt, negative, parameters) == (state.prompt, state.negative_prompt, state.parameters):
        return []
    return [TemplateRevised(prompt=prompt, negative_prompt=negative, parameters=parameters)]


def load_template(store: EventStore, template_id: str, *, up_to_version: int | None = None,
                  ) -> tuple[TemplateState, int]:
    state, version = fold(store, stream_id("template", template_id), TemplateState(), apply,
                          up_to_version=up_to_version)
    if not state.exists:
        raise NotFound(f"template {template_id} does not exist")
    return state, version


def load_template_as(store: EventStore, principal: Principal, template_id: str, needed: str,
                     ) -> tuple[TemplateState, int]:
    """The template, if the caller holds ``needed`` in its project (NotFound otherwise)."""
    state, version = load_template(store, template_id)
    project, _ = load_project(store, state.project_id)
    require_role(project.members, principal, needed,
                 hidden=f"template {template_id} does not exist")
    return state, version


def template_body(state: TemplateState, version: int) -> dict[str, Any]:
    return {"template_id": state.template_id, "project_id": state.project_id,
            "name": state.name, "prompt": state.prompt,
            "negative_prompt": state.negative_prompt, "parameters": dict(state.parameters),
            "variables": variables_of(state.prompt), "version": version,
            "created_at": iso(state.created_at), "revised_at": iso(state.revised_at)}


def create_template(store: EventStore, principal: Principal, meta: Metadata, project_id: str,
                    *, name: str, prompt: str, negative_prompt: str = "",
                    parameters: dict[str, Any] | None = None) -> Answer:
    """Create a template (creator role). Returns (body, version 1, position)."""
    template_id = new_id()

    def plan() -> list[StreamAppend]:
        project, _ = load_project(store, project_id)
        require_role(project.members, principal, CREATOR, hidden=hidden(project_id))
        events = decide_create(template_id, project_id, name, prompt, negative_prompt,
                               parameters or {})
        return [StreamAppend(stream_id("template", template_id), "template", NO_STREAM, events)]

    recorded = execute(store, meta, plan)
    created, event = first_of(recorded, TemplateCreated)
    state, version = load_template(store, event.template_id,
                                   up_to_version=created.stream_version)
    return template_body(state, version), version, created.position


def revise_template(store: EventStore, principal: Principal, meta: Metadata, template_id: str,
                    changes: dict[str, Any], *, if_match: int = ANY) -> Answer:
    """A new template version (creator role). Returns (body, version, position or None)."""
    stream = stream_id("template", template_id)

    def plan() -> list[StreamAppend]:
        state, version = load_template_as(store, principal, template_id, CREATOR)
        return [StreamAppend(stream, "template", expected(if_match, version),
                             decide_revise(state, changes))]

    recorded = execute(store, meta, plan, if_match=if_match)
    ensure_same_request(recorded, stream, TemplateRevised)
    at = recorded[-1].stream_version if recorded else None
    state, version = load_template(store, template_id, up_to_version=at)
    return template_body(state, version), version, recorded[-1].position if recorded else None
