"""The model registry as GET /api/models lists it: each registered name at its latest
registration, with its revision and earlier weights, and the model each tier runs. The
write side (commands/models.py) keeps folding the registry's one stream to decide."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from events.models import MODEL_TIERS
from events.store import Recorded
from projections.common import iso
from projections.runner import ApplyContext, Projection
from projections.tables import model_tiers, models

FIELDS = ("kind", "family", "pipeline_class", "spec", "path", "config", "weights_hash",
          "source")


def _registered(ctx: ApplyContext, rec: Recorded) -> None:
    e, table = rec.event, ctx.t("rm_models")
    values = {**{name: getattr(e, name) for name in FIELDS},
              "components": list(e.components), "files": dict(e.files),
              "registered_at": rec.recorded_at}
    old = ctx.conn.execute(select(table.c.revision, table.c.weights_hash,
                                  table.c.previous_weights_hashes)
                           .where(table.c.name == e.name)).first()
    if old is None:
        ctx.conn.execute(insert(table).values(name=e.name, revision=1,
                                              previous_weights_hashes=[], **values))
        return
    ctx.conn.execute(update(table).where(table.c.name == e.name).values(
        revision=old.revision + 1,
        previous_weights_hashes=[*old.previous_weights_hashes, old.weights_hash], **values))


def _tier_assigned(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_model_tiers")
    ctx.conn.execute(delete(table).where(table.c.tier == rec.event.tier))
    ctx.conn.execute(insert(table).values(tier=rec.event.tier, name=rec.event.name))


PROJECTION = Projection(
    name="models",
    tables=(models, model_tiers),
    handlers={"model.registered": _registered, "model.tier_assigned": _tier_assigned},
)


def registry(conn: Connection, kind: str | None = None) -> dict[str, Any]:
    """Every registered model and adapter (of ``kind`` when given) by name, and which
    model each tier runs."""
    tiers = dict(conn.execute(select(model_tiers.c.tier, model_tiers.c.name)).all())
    query = select(models).order_by(models.c.name)
    if kind is not None:
        query = query.where(models.c.kind == kind)
    items = [{
        "name": row["name"], "kind": row["kind"], "family": row["family"],
        "pipeline_class": row["pipeline_class"], "spec": row["spec"], "path": row["path"],
        "config": row["config"],
        "components": list(row["components"]),
        "files": [{"path": p, "sha256": h} for p, h in sorted(row["files"].items())],
        "weights_hash": row["weights_hash"], "source": row["source"],
        "tiers": sorted(t for t, n in tiers.items() if n == row["name"]),
        "revision": row["revision"],
        "previous_weights_hashes": list(row["previous_weights_hashes"]),
        "registered_at": iso(row["registered_at"]),
    } for row in conn.execute(query).mappings().all()]
    return {"items": items, "tiers": {t: tiers.get(t) for t in MODEL_TIERS}}
