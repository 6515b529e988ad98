"""Templates: each project's templates (the current version of each) and every
revision of each template, for lists and the studio's templates page. The write side
(commands/templates.py) keeps folding a template's stream for generations from it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select, tuple_, update

from events.errors import DomainError, NotFound
from events.store import Recorded
from projections.common import iso
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import template_revisions, templates
from rules.templates import variables_of


def _revision(ctx: ApplyContext, rec: Recorded, template_id: str) -> None:
    e = rec.event
    ctx.insert("rm_template_revisions", {
        "template_id": template_id, "version": rec.stream_version, "prompt": e.prompt,
        "negative_prompt": e.negative_prompt, "parameters": dict(e.parameters),
        "author_id": rec.actor_id, "recorded_at": rec.recorded_at})


def _created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_templates", {
        "template_id": e.template_id, "project_id": e.project_id, "name": e.name,
        "prompt": e.prompt, "negative_prompt": e.negative_prompt,
        "parameters": dict(e.parameters), "version": rec.stream_version,
        "created_by": rec.actor_id, "created_at": rec.recorded_at, "revised_at": None},
        key=e.template_id)
    _revision(ctx, rec, e.template_id)


def _revised(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    template_id = entity_id(rec.stream_id)
    _revision(ctx, rec, template_id)
    changes = {"prompt": e.prompt, "negative_prompt": e.negative_prompt,
               "parameters": dict(e.parameters), "version": rec.stream_version,
               "revised_at": rec.recorded_at}
    row = ctx.unsent("rm_templates", template_id)
    if row is not None:
        row.update(changes)
        return
    statement = ctx.statement("rm_templates", "revise", lambda t: update(t).where(
        t.c.template_id == bindparam("b_id")).values(
        {t.c[name]: bindparam("b_" + name) for name in changes}))
    ctx.queue("rm_templates", statement,
              {"b_id": template_id, **{"b_" + name: value for name, value in changes.items()}})


PROJECTION = Projection(
    name="templates",
    tables=(templates, template_revisions),
    handlers={"template.created": _created, "template.revised": _revised},
)


def _variables(prompt: str) -> list[str]:
    try:
        return variables_of(prompt)
    except DomainError:  # recorded before the rule: shown, never filled
        return []


def _item(row: Any) -> dict[str, Any]:  # noqa: ANN401
    return {"template_id": row["template_id"], "project_id": row["project_id"],
            "name": row["name"], "prompt": row["prompt"],
            "negative_prompt": row["negative_prompt"], "parameters": dict(row["parameters"]),
            "variables": _variables(row["prompt"]), "version": row["version"],
            "created_by": row["created_by"], "created_at": iso(row["created_at"]),
            "revised_at": iso(row["revised_at"])}


def project_templates(conn: Connection, project_id: str, *, after: tuple[str, str] | None = None,
                      limit: int = 100) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """The project's templates by name (then id), each at its current version, from
    after ``after`` (the (name, id) a page ended on). Returns the page and the key to
    pass as ``after`` for the next one (None after the last)."""
    t = templates.c
    query = (select(templates).where(t.project_id == project_id)
             .order_by(t.name, t.template_id).limit(limit + 1))
    if after is not None:
        query = query.where(tuple_(t.name, t.template_id) > tuple_(*after))
    rows = conn.execute(query).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1]["name"], rows[-1]["template_id"]) if more else None
    return [_item(row) for row in rows], last


def template_of(conn: Connection, template_id: str) -> dict[str, Any]:
    """The template at its current version, as the write side answers it (its version is
    the ETag); NotFound while the read model has yet to see it."""
    row = conn.execute(select(templates).where(templates.c.template_id == template_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"template {template_id} does not exist")
    item = _item(row)
    del item["created_by"]
    return item


def template_revisions_of(conn: Connection, template_id: str) -> list[dict[str, Any]]:
    """Every version of the template, newest first."""
    r = template_revisions.c
    rows = conn.execute(select(template_revisions).where(r.template_id == template_id)
                        .order_by(r.version.desc())).mappings().all()
    return [{"version": row["version"], "prompt": row["prompt"],
             "negative_prompt": row["negative_prompt"], "parameters": dict(row["parameters"]),
             "variables": _variables(row["prompt"]), "author_id": row["author_id"],
             "recorded_at": iso(row["recorded_at"])} for row in rows]


def template_project(conn: Connection, template_id: str) -> str | None:
    """The project a template belongs to (None for an unknown template)."""
    return conn.execute(select(templates.c.project_id)
                        .where(templates.c.template_id == template_id)).scalar()
