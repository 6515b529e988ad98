"""People by name, never by id: users, and guests who came through a review link."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from projections.access import user_names

GUEST_PREFIX = "guest:"
LINK_PREFIX = "link:"


def display_names(engine: Engine, ids: Iterable[str | None]) -> dict[str, str]:
    """id → display name for users; ids nobody is known by are left out."""
    wanted = {i for i in ids if i}
    users = {i for i in wanted if not i.startswith((GUEST_PREFIX, LINK_PREFIX))}
    return user_names(engine, users)
