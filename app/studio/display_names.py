"""People by name, never by id: users, and guests who came through a review link."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from projections.access import user_names
from projections.queries import guest_names

GUEST_PREFIX = "guest:"
LINK_PREFIX = "link:"


def display_names(engine: Engine, ids: Iterable[str | None]) -> dict[str, str]:
    """id → display name: users by their name, guests (``guest:<id>``) as "<name> (guest)";
    ids nobody is known by are left out."""
    wanted = {i for i in ids if i}
    users = {i for i in wanted if not i.startswith((GUEST_PREFIX, LINK_PREFIX))}
    names = user_names(engine, users)
    guests = {i.removeprefix(GUEST_PREFIX) for i in wanted if i.startswith(GUEST_PREFIX)}
    for guest_id, name in guest_names(engine, guests).items():
        names[GUEST_PREFIX + guest_id] = f"{name} (guest)"
    return names
