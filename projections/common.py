"""Small pieces several read models share: time formatting, validity in time, current
approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, and_, or_, select
from sqlalchemy.sql import ColumnElement

from events.store import utc
from projections.tables import decisions
from rules.approvals import fold_approvals


def iso(moment: Any) -> str | None:
    """A stored time as ISO 8601 UTC text (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        # SQLite hands back naive UTC: the same text as the aware value's, without
        # building one (hundreds per review-state answer).
        return moment.isoformat() + "+00:00"
    return utc(moment).isoformat()


LINEAGE_TOOL = "lineage"


def described_recipe(recipe: dict[str, Any] | None, imported: dict[str, Any] | None,
                     ) -> dict[str, Any]:
    """How a version was made, as search and facets describe it: ``prompt``, ``seed``,
    ``model``, ``sampler`` and ``tool``. A version Lineage made describes itself by its
    recipe; an upload by the recipe imported from the other tool's metadata it carried
    (AUTOMATIC1111, ComfyUI, InvokeAI), so imported prompts are found like generated ones."""
    recipe = recipe or {}
    if recipe.get("operation") == "upload":
        if not imported:
            return {"prompt": "", "seed": None, "model": None, "sampler": None, "tool": None}
        made = imported.get("recipe") or {}
        return {"prompt": _text(made.get("prompt")), "seed": made.get("seed"),
                "model": made.get("model_name") or made.get("model_hash"),
                "sampler": made.get("sampler"), "tool": imported.get("tool")}
    return {"prompt": _text(recipe.get("prompt")), "seed": recipe.get("seed"),
            "model": recipe.get("model_id"), "sampler": recipe.get("scheduler"),
            "tool": LINEAGE_TOOL}


def _text(value: Any) -> str:  # noqa: ANN401
    return value if isinstance(value, str) else ""


def normalise_tag(tag: str) -> str:
    """``" Campaign//summer-26/ "`` → ``"Campaign/summer-26"``: no empty levels."""
    return "/".join(part.strip() for part in tag.split("/") if part.strip())


def valid_at(start: Column, end: Column, as_of: datetime | None) -> ColumnElement:
    """Rows true at ``as_of`` (started by then, not ended by then); now when None."""
    if as_of is None:
        return end.is_(None)
    return and_(start <= as_of, or_(end.is_(None), end > as_of))


def existed_at(start: Column, as_of: datetime | None) -> ColumnElement:
    """Rows that existed at ``as_of`` (every row when None)."""
    return start <= as_of if as_of is not None else start.is_not(None)


def ended_by(end: Column, as_of: datetime | None) -> ColumnElement:
    """Rows whose end (resolved, revoked, unpinned) had happened by ``as_of``."""
    return end <= as_of if as_of is not None else end.is_not(None)


def current_approvals(conn: Connection, asset_id: str, as_of: datetime | None = None,
                      ) -> dict[str, str]:
    """channel → the approved version id of an asset, now or as of a time (the rule:
    rules/approvals.py)."""
    d = decisions.c
    return fold_approvals(conn.execute(
        select(d.version_id, d.channel, d.decision)
        .where(d.asset_id == asset_id, valid_at(d.decided_at, d.revoked_at, as_of))
        .order_by(d.position)))
