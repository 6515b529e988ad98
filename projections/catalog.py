"""The catalog projection: searchable versions, hierarchical tags, decisions, text docs.

Rows record when they became true (and stopped being true), so searches "as of" a time
filter rows instead of re-folding the log; see projections/search.py for the queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sqlalchemy import Connection, Table, insert, select, update

from events.chain import canonical_json
from events.store import Recorded
from projections import fulltext
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


def normalise_tag(tag: str) -> str:
    """``" Campaign//summer-26/ "`` → ``"Campaign/summer-26"``: no empty levels."""
    return "/".join(part.strip() for part in tag.split("/") if part.strip())


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
    docs = ctx.t("rm_catalog_docs")
    ctx.conn.execute(insert(docs).values(
        doc_no=rec.position, kind=kind, version_id=version_id, asset_id=asset_id,
        project_id=project_id, body=body, created_at=rec.recorded_at))
    fulltext.add_document(ctx.conn, docs, rec.position, body)


def _project_of_asset(ctx: ApplyContext, asset_id: str) -> tuple[str, str] | None:
    table = ctx.t("rm_catalog_assets")
    row = ctx.conn.execute(select(table.c.project_id, table.c.name)
                           .where(table.c.asset_id == asset_id)).first()
    return (row[0], row[1]) if row else None


def _add_tag(ctx: ApplyContext, rec: Recorded, asset_id: str, project_id: str, tag: str,
             ordinal: int) -> None:
    table = ctx.t("rm_catalog_tags")
    tag = normalise_tag(tag)
    if not tag:
        return
    already = ctx.conn.execute(select(table.c.row_id).where(
        table.c.asset_id == asset_id, table.c.tag == tag,
        table.c.removed_at.is_(None)).limit(1)).first()
    if already:
        return
    levels = tag_levels(tag)
    ctx.conn.execute(insert(table), [
        {"row_id": f"{rec.position}:{ordinal}:{depth}", "asset_id": asset_id,
         "project_id": project_id, "tag": tag, "prefix": prefix, "depth": depth,
         "is_leaf": depth == len(levels), "added_at": rec.recorded_at, "removed_at": None}
        for depth, prefix in enumerate(levels, start=1)])


def _asset_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.conn.execute(insert(ctx.t("rm_catalog_assets")).values(
        asset_id=e.asset_id, project_id=e.project_id, name=e.name))
    for ordinal, tag in enumerate(e.tags):
        _add_tag(ctx, rec, e.asset_id, e.project_id, tag, ordinal)
    _add_doc(ctx, rec, "asset", e.asset_id, e.project_id, None, f"{e.name}\n{e.brief}")


def _tag_added(ctx: ApplyContext, rec: Recorded) -> None:
    asset_id = entity_id(rec.stream_id)
    found = _project_of_asset(ctx, asset_id)
    if found:
        _add_tag(ctx, rec, asset_id, found[0], rec.event.tag, 0)


def _tag_removed(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_catalog_tags")
    ctx.conn.execute(update(table).where(
        table.c.asset_id == entity_id(rec.stream_id),
        table.c.tag == normalise_tag(rec.event.tag), table.c.removed_at.is_(None),
    ).values(removed_at=rec.recorded_at))


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    found = _project_of_asset(ctx, e.asset_id)
    if found is None:
        return
    project_id, asset_name = found
    recipe = e.recipe or {}
    seed = recipe.get("seed")
    prompt = str(recipe.get("prompt") or "")
    ctx.conn.execute(insert(ctx.t("rm_catalog_versions")).values(
        version_id=e.version_id, asset_id=e.asset_id, project_id=project_id,
        asset_name=asset_name, operation=e.operation, tier=e.tier,
        model_id=recipe.get("model_id"), author_id=e.author_id,
        seed=None if seed is None else str(seed), prompt=prompt,
        content_hash=e.content_hash,
        variation_key=variation_key(e.asset_id, e.operation, e.tier, e.parent_ids, recipe),
        created_at=rec.recorded_at, position=rec.position))
    _add_doc(ctx, rec, "version", e.asset_id, project_id, e.version_id,
             f"{prompt}\n{e.note}")


def _comment_added(ctx: ApplyContext, rec: Recorded) -> None:
    asset_id = entity_id(rec.stream_id)
    found = _project_of_asset(ctx, asset_id)
    if found:
        _add_doc(ctx, rec, "comment", asset_id, found[0], rec.event.version_id,
                 rec.event.body)


def _decision_recorded(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.conn.execute(insert(ctx.t("rm_catalog_decisions")).values(
        decision_id=e.decision_id, version_id=e.version_id, decision=e.decision,
        decided_at=rec.recorded_at, position=rec.position))


def _decision_revoked(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_catalog_decisions")
    ctx.conn.execute(update(table).where(table.c.decision_id == rec.event.decision_id,
                                         table.c.revoked_at.is_(None))
                     .values(revoked_at=rec.recorded_at))


def _create_fulltext(conn: Connection, tables: Mapping[str, Table]) -> None:
    fulltext.create_index(conn, tables["rm_catalog_docs"])


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
    drop_extra=_drop_fulltext,
    rename_extra=_rename_fulltext,
)
