"""Guest review links and the guests who came through them: the project's list of links
(to see and revoke them) and guests' display names (to show people by name)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from events.store import Recorded, utc
from projections.common import iso
from projections.runner import ApplyContext, Projection
from projections.tables import guest_links, guests


def _created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_guest_links", {
        "link_id": e.link_id, "project_id": e.project_id, "asset_ids": list(e.asset_ids),
        "permission": e.permission, "label": e.label,
        "expires_at": utc(datetime.fromisoformat(e.expires_at)), "created_by": e.created_by,
        "created_at": rec.recorded_at, "position": rec.position, "revoked_at": None,
        "revoked_by": None}, key=e.link_id)


def _revoked(ctx: ApplyContext, rec: Recorded) -> None:
    row = ctx.unsent("rm_guest_links", rec.event.link_id)
    if row is not None:
        row.update(revoked_at=rec.recorded_at, revoked_by=rec.event.revoked_by)
        return
    table = ctx.t("rm_guest_links")
    ctx.conn.execute(table.update().where(table.c.link_id == rec.event.link_id,
                                          table.c.revoked_at.is_(None))
                     .values(revoked_at=rec.recorded_at, revoked_by=rec.event.revoked_by))


def _joined(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_guests", {"guest_id": e.guest_id, "link_id": e.link_id, "name": e.name,
                             "joined_at": rec.recorded_at}, key=e.guest_id)


PROJECTION = Projection(
    name="guest_links",
    tables=(guest_links, guests),
    handlers={"guest_link.created": _created, "guest_link.revoked": _revoked,
              "guest.joined": _joined},
)


def project_links(conn: Connection, project_id: str) -> list[dict[str, Any]]:
    """The project's links, newest first, each with its guests' names."""
    g = guests.c
    rows = conn.execute(select(guest_links).where(guest_links.c.project_id == project_id)
                        .order_by(guest_links.c.position.desc())).mappings().all()
    names: dict[str, list[str]] = {}
    if rows:
        for link_id, name in conn.execute(select(g.link_id, g.name).where(
                g.link_id.in_([r["link_id"] for r in rows])).order_by(g.joined_at)):
            names.setdefault(link_id, []).append(name)
    return [{"link_id": r["link_id"], "project_id": r["project_id"],
             "asset_ids": list(r["asset_ids"]), "permission": r["permission"],
             "label": r["label"], "expires_at": iso(r["expires_at"]),
             "created_by": r["created_by"], "created_at": iso(r["created_at"]),
             "revoked": r["revoked_at"] is not None, "revoked_at": iso(r["revoked_at"]),
             "guests": names.get(r["link_id"], [])} for r in rows]


def guest_names(conn: Connection, guest_ids: Iterable[str]) -> dict[str, str]:
    """guest id → display name (unknown ids are left out)."""
    wanted = sorted(set(guest_ids))
    if not wanted:
        return {}
    return dict(conn.execute(select(guests.c.guest_id, guests.c.name)
                             .where(guests.c.guest_id.in_(wanted))).all())
