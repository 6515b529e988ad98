"""The version strip's shape: the tree of an asset's versions as branches of stacks.

Pure: takes the tree nodes the read side answers (``GET /api/assets/{id}/tree``) and
returns what the template draws. Versions made from the same parent with the same
recipe apart from the seed (one request's variations, or the same request again) form
a *stack*; a stack's children are the versions made from any of its members, grouped
the same way. An edit, a promotion or a re-bake therefore opens a branch to the right
of the version it was made from.
"""

from __future__ import annotations

import dataclasses
from typing import Any

OPEN_STACK_LIMIT = 6
"""Stacks of at most this many versions are drawn open; larger ones show their cover
and open on demand (or when they hold the selected version)."""


@dataclasses.dataclass
class Stack:
    """Versions differing only by seed, and the stacks made from them."""

    members: list[dict[str, Any]]
    children: list[Stack] = dataclasses.field(default_factory=list)
    open: bool = False
    cover: dict[str, Any] | None = None

    @property
    def size(self) -> int:
        return len(self.members)


def stack_key(node: dict[str, Any]) -> tuple:
    """What versions of one stack share: parents, operation, tier, prompt, model, size."""
    return (tuple(node["parent_ids"][:1]), node["operation"], node["tier"],
            node.get("prompt"), node.get("model_id"), node["width"], node["height"])


def build_strip(nodes: list[dict[str, Any]], selected: str | None,
                approved: set[str] = frozenset()) -> list[Stack]:
    """The root stacks of ``nodes`` (in creation order), each with its children; a
    stack's cover is its selected member, else an approved one, else its first."""
    known = {node["version_id"] for node in nodes}
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for node in nodes:
        parent = next((p for p in node["parent_ids"] if p in known), None)
        by_parent.setdefault(parent, []).append(node)

    def stacks_of(siblings: list[dict[str, Any]]) -> list[Stack]:
        grouped: dict[tuple, Stack] = {}
        for node in siblings:
            grouped.setdefault(stack_key(node), Stack([])).members.append(node)
        result = list(grouped.values())
        for stack in result:
            ids = [member["version_id"] for member in stack.members]
            made_from = [child for version_id in ids for child in by_parent.get(version_id, [])]
            stack.children = stacks_of(made_from)
            stack.cover = next((m for m in stack.members if m["version_id"] == selected),
                               None) or next((m for m in stack.members
                                              if m["version_id"] in approved),
                                             stack.members[0])
            stack.open = stack.size <= OPEN_STACK_LIMIT or selected in ids
        return result

    return stacks_of(by_parent.get(None, []))


def version_numbers(nodes: list[dict[str, Any]]) -> dict[str, int]:
    """version id → its number in the asset (1 for the first made), as pages label it."""
    return {node["version_id"]: number for number, node in enumerate(nodes, start=1)}


def ancestors(nodes_by_id: dict[str, dict[str, Any]], version_id: str) -> list[str]:
    """The first-parent chain above ``version_id``, nearest first."""
    chain: list[str] = []
    current = nodes_by_id.get(version_id)
    while current and current["parent_ids"]:
        parent = current["parent_ids"][0]
        if parent in chain or parent not in nodes_by_id:
            break
        chain.append(parent)
        current = nodes_by_id[parent]
    return chain
