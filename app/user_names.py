"""Users by name wherever an answer names one by id.

Every field that holds a user id gets a sibling with their name (``author_id`` →
``author_name``; a project member's ``user_id`` → ``name``), so "who approved this?" is
answered in words. The role held at the time sits beside it already where it matters
(decisions, audit entries, members). Names come from a lookup the view chooses: the
write side's (an immutable fact per user, cached) for answers folded from streams, the
``access`` read model's for read-side answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

USER_ID_FIELDS = {
    "author_id": "author_name", "reviewer_id": "reviewer_name", "actor_id": "actor_name",
    "pinned_by": "pinned_by_name", "resolved_by": "resolved_by_name",
    "revoked_by": "revoked_by_name", "requested_by": "requested_by_name",
    "created_by": "created_by_name", "unpinned_by": "unpinned_by_name",
}
"""Fields holding a user id, and the field the user's name is given in."""
MEMBER_LISTS = ("members",)
"""Lists whose items are users (``user_id`` → ``name``)."""

Lookup = Callable[[set[str]], dict[str, str]]


def with_names(body: Any, lookup: Lookup) -> Any:  # noqa: ANN401 - any JSON body
    """``body`` with a name beside every user id it holds (None for ids the lookup
    does not know); one lookup call for all of them."""
    ids = set(_user_ids(body))
    if not ids:
        return body
    return _named(body, lookup(ids))


def _user_ids(value: Any, member: bool = False) -> Iterable[str]:  # noqa: ANN401
    if isinstance(value, dict):
        for key, item in value.items():
            if (key in USER_ID_FIELDS or (member and key == "user_id")) and isinstance(item, str):
                yield item
            elif isinstance(item, dict | list):
                yield from _user_ids(item, key in MEMBER_LISTS)
    elif isinstance(value, list):
        for item in value:
            yield from _user_ids(item, member)


def _named(value: Any, names: dict[str, str], member: bool = False) -> Any:  # noqa: ANN401
    if isinstance(value, list):
        return [_named(item, names, member) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        out[key] = _named(item, names, key in MEMBER_LISTS)
        if key in USER_ID_FIELDS:
            out[USER_ID_FIELDS[key]] = names.get(item) if isinstance(item, str) else None
        elif member and key == "user_id":
            out["name"] = names.get(item) if isinstance(item, str) else None
    return out
