"""The catalog projection: searchable versions, hierarchical tags, decisions, text docs.

Rows record when they became true (and stopped being true), so searches "as of" a time
filter rows instead of re-folding the log; see projections/search.py for the queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sqlalchemy import Connection, Table, bindparam, select, update

from events.chain import canonical_json
from events.store import Recorded
from projections import fulltext
from projections.common import described_recipe, normalise_tag
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import (
    catalog_assets,
    catalog_decisions,
    catalog_docs,
    catalog_tags,
    catalog_versions,
)

SEED_KEYS = ("seed",)


def tag_levels(tag: str) -> list[str]:
    """``a/b/c`` → ``["a", "a/b", "a/b/c"]``: every level a filter may name."""
    parts = normalise_tag(tag).split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))] if parts != [""] else []


def variation_key(asset_id: str, operation: str, tier: str, parent_ids: list[str],
                  recipe: Mapping) -> str:
    """Versions with the same key differ only by seed (``collapse=seed`` groups them)."""
    rest = {k: v for k, v in recipe.items() if k not in SEED_KEYS}
    material = canonical_json({"asset": asset_id, "operation": operation, "tier": tier,
                               "parents": sorted(parent_ids), "recipe": rest})
    return hashlib.sha256(material.encode()).hexdigest()


def _add_doc(ctx: ApplyContext, rec: Recorded, kind: str, asset_id: str, project_id: str,
             version_id: str | None, body: str) -> None:
    if not body.strip():
        return
    fulltext.add_document(ctx, "rm_catalog_docs", {
        "doc_no": rec.position, "kind": kind, "version_id": version_id,
        "asset_id": asset_id, "project_id": project_id, "body": body,
        "created_at": rec.recorded_at})


def _project_of_asset(ctx: ApplyContext, asset_id: str) -> tuple[str, str] | None:
    """(project id, asset name): both never change, so they are cached."""
    key = "catalog-asset:" + asset_id
    if key not in ctx.cache:
        read = ctx.statement("rm_catalog_assets", "by_id", lambda t: select(
            t.c.project_id, t.c.name).where(t.c.asset_id == bindparam("b_id")))
        row = ctx.conn.execute(read, {"b_id": asset_id}).first()
        if row is None:
            return None
        ctx.cache[key] = (row[0], row[1])
    return ctx.cache[key]


def _tag_rows(rec: Recorded, asset_id: str, project_id: str, tag: str, ordinal: int,
              ) -> list[dict]:
    levels = tag_levels(tag)
    return [{"row_id": f"{rec.position}:{ordinal}:{depth}", "asset_id": asset_id,
             "project_id": project_id, "tag": normalise_tag(tag), "prefix": prefix,
             "depth": depth, "is_leaf": depth == len(levels), "added_at": rec.recorded_at,
             "removed_at": None}
            for depth, prefix in enumerate(levels, start=1)]


def _asset_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_catalog_assets", {"asset_id": e.asset_id, "project_id": e.project_id,
                                     "name": e.name})
    ctx.cache["catalog-asset:" + e.asset_id] = (e.project_id, e.name)
    seen: set[str] = set()
    for ordinal, tag in enumerate(e.tags):
        normal = normalise_tag(tag)
        if normal and normal not in seen:
            seen.add(normal)
            for row in _tag_rows(rec, e.asset_id, e.project_id, tag, ordinal):
                ctx.insert("rm_catalog_tags", row)
    _add_doc(ctx, rec, "asset", e.asset_id, e.project_id, None, f"{e.name}\n{e.brief}")


def _tag_added(ctx: ApplyContext, rec: Recorded) -> None:
    asset_id = entity_id(rec.stream_id)
    found = _project_of_asset(ctx, asset_id)
    tag = normalise_tag(rec.event.tag)
    if found is None or not tag:
        return
    read = ctx.statement("rm_catalog_tags", "active", lambda t: select(t.c.row_id).where(
        t.c.asset_id == bindparam("b_id"), t.c.tag == bindparam("b_tag"),
        t.c.removed_at.is_(None)).limit(1))
    if ctx.conn.execute(read, {"b_id": asset_id, "b_tag": tag}).first():
        return
    for row in _tag_rows(rec, asset_id, found[0], tag, 0):
        ctx.insert("rm_catalog_tags", row)


def _tag_removed(ctx: ApplyContext, rec: Recorded) -> None:
    statement = ctx.statement("rm_catalog_tags", "remove", lambda t: update(t).where(
        t.c.asset_id == bindparam("b_id"), t.c.tag == bindparam("b_tag"),
        t.c.removed_at.is_(None)).values(removed_at=bindparam("b_at")))
    ctx.queue("rm_catalog_tags", statement, {
        "b_id": entity_id(rec.stream_id), "b_tag": normalise_tag(rec.event.tag),
        "b_at": rec.recorded_at})


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    found = _project_of_asset(ctx, e.asset_id)
    if found is None:
        return
    project_id, asset_name = found
    recipe = e.recipe or {}
    made = described_recipe(recipe, e.imported)
    seed, prompt = made["seed"], made["prompt"]
    ctx.insert("rm_catalog_versions", {
        "version_id": e.version_id, "asset_id": e.asset_id, "project_id": project_id,
        "asset_name": asset_name, "operation": e.operation, "tier": e.tier,
        "model_id": _bounded(made["model"], 200), "author_id": e.author_id,
        "seed": None if seed is None else str(seed)[:40], "prompt": prompt,
        "content_hash": e.content_hash,
        "variation_key": variation_key(e.asset_id, e.operation, e.tier, e.parent_ids,
                                       recipe),
        "sampler": _bounded(made["sampler"], 80), "tool": _bounded(made["tool"], 40),
        "created_at": rec.recorded_at, "position": rec.position})
    _add_doc(ctx, rec, "version", e.asset_id, project_id, e.version_id,
             f"{prompt}\n{e.note}")


def _bounded(value: object, length: int) -> str | None:
    """Text for a column of ``length`` (imported metadata is another tool's free text)."""
    return None if value is None else str(value)[:length]


def _comment_added(ctx: ApplyContext, rec: Recorded) -> None:
    asset_id = entity_id(rec.stream_id)
    found = _project_of_asset(ctx, asset_id)
    if found:
        _add_doc(ctx, rec, "comment", asset_id, found[0], rec.event.version_id,
                 rec.event.body)


def _decision_recorded(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_catalog_decisions", {
        "decision_id": e.decision_id, "version_id": e.version_id,
        "asset_id": entity_id(rec.stream_id), "channel": e.channel, "decision": e.decision,
        "decided_at": rec.recorded_at, "position": rec.position, "revoked_at": None})


def _decision_revoked(ctx: ApplyContext, rec: Recorded) -> None:
    statement = ctx.statement("rm_catalog_decisions", "revoke", lambda t: update(t).where(
        t.c.decision_id == bindparam("b_id"), t.c.revoked_at.is_(None)).values(
        revoked_at=bindparam("b_at")))
    ctx.queue("rm_catalog_decisions", statement, {"b_id": rec.event.decision_id,
                                                  "b_at": rec.recorded_at})


def _create_fulltext(conn: Connection, tables: Mapping[str, Table]) -> None:
    fulltext.create_index(conn, tables["rm_catalog_docs"])


def _index_fulltext(conn: Connection, tables: Mapping[str, Table]) -> None:
    fulltext.create_search_index(conn, tables["rm_catalog_docs"])


def _drop_fulltext(conn: Connection, tables: Mapping[str, Table]) -> None:
    fulltext.drop_index(conn, tables["rm_catalog_docs"])


def _rename_fulltext(conn: Connection, old: Mapping[str, Table],
                     new: Mapping[str, Table]) -> None:
    fulltext.rename_index(conn, old["rm_catalog_docs"], new["rm_catalog_docs"])


PROJECTION = Projection(
    name="catalog",
    tables=(catalog_assets, catalog_versions, catalog_tags, catalog_decisions, catalog_docs),
    handlers={
        "asset.created": _asset_created,
        "asset.tag_added": _tag_added,
        "asset.tag_removed": _tag_removed,
        "version.created": _version_created,
        "comment.added": _comment_added,
        "decision.recorded": _decision_recorded,
        "decision.revoked": _decision_revoked,
    },
    create_extra=_create_fulltext,
    index_extra=_index_fulltext,
    drop_extra=_drop_fulltext,
    rename_extra=_rename_fulltext,
)
