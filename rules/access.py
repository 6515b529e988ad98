"""Who may do what in a project: ``viewer < creator < reviewer < admin``. The one rule
both sides apply: commands check it against the project they folded, and the read side
through commands/membership.py, which folds the project's membership the same way (so a
removed member is refused on the very next request, however far projections lag).

Global admins pass every check. A caller who is not a member gets NotFound for the
project's resources (their existence is not leaked); a member whose role is too weak
gets Forbidden naming the role needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from events.errors import Forbidden, NotFound
from events.projects import ROLES


class Principal(Protocol):
    """Who asks (commands.users.Principal): their user id, and whether they are a
    global admin."""

    user_id: str
    is_admin: bool


RANK = {role: rank for rank, role in enumerate(ROLES)}

VIEWER, CREATOR, REVIEWER, ADMIN = ROLES


def role_of(members: Mapping[str, str], principal: Principal) -> str | None:
    """The caller's effective role: their membership, or ``admin`` for a global admin."""
    if principal.is_admin:
        return ADMIN
    return members.get(principal.user_id)


def require_role(members: Mapping[str, str], principal: Principal, needed: str, *,
                 hidden: str) -> str:
    """Check the caller holds at least ``needed``; return the role they hold.

    ``hidden`` is the NotFound message for non-members (e.g. "asset X does not exist").
    Raises NotFound for non-members and Forbidden (with ``required_role`` and
    ``your_role``) for members with a weaker role.
    """
    held = role_of(members, principal)
    if held is None:
        raise NotFound(hidden)
    if RANK[held] < RANK[needed]:
        raise Forbidden(f"this needs the {needed} role in the project; you are {held}",
                        required_role=needed, your_role=held)
    return held
