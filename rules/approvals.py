"""What stands as approved: the one rule every count and view of approvals follows.

Decisions are folded per delivery channel in log order, over the decisions that stand
(not revoked, as of the time asked about). A decision without a channel counts for
:data:`DEFAULT_CHANNEL`. In a channel the latest approval stands, unless a later
decision on the same version in that channel (changes requested, rejected) took it back;
an approval of another version in the channel replaces it. Revoking a decision removes
it from the fold, so an approval it had replaced stands again.

Approvals stand only in channels the project has not removed: a channel removed from the
project (``project.channel_removed``) keeps its decisions in the log and the audit, but
its approvals stop standing until a channel of that name is set again (:func:`offered`;
reads take the channels removed at a moment from projections/access.py, and search
states the same in SQL).

The review state, the board, the tree, search (projections/search.py states the same
rule in SQL, and a test keeps the two equal), metrics and the re-bake CLI's list of
approved versions all read approvals through this module.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

APPROVED = "approved"
DEFAULT_CHANNEL = "default"
"""The channel of a decision recorded without one (as the API documents it)."""

Decision = tuple[str, str | None, str]
"""A standing decision as ``(version_id, channel, decision)``."""


def channel_key(channel: str | None) -> str:
    """The channel a decision counts for: its own, or :data:`DEFAULT_CHANNEL`."""
    return channel or DEFAULT_CHANNEL


def fold_approvals(standing: Iterable[Decision]) -> dict[str, str]:
    """channel → approved version id, from an asset's standing decisions in log order."""
    current: dict[str, str] = {}
    for version_id, channel, decision in standing:
        key = channel_key(channel)
        if decision == APPROVED:
            current[key] = version_id
        elif current.get(key) == version_id:
            del current[key]
    return current


def offered(approvals: dict[str, str], removed: Collection[str] = ()) -> dict[str, str]:
    """``approvals`` (channel → version id) without the channels the project removed
    (and did not set again)."""
    return {channel: version_id for channel, version_id in approvals.items()
            if channel not in removed}


def approved_channels(standing: Iterable[Decision], removed: Collection[str] = (),
                      ) -> dict[str, list[str]]:
    """version id → the sorted channels it stands approved in (but the ``removed`` ones,
    as :func:`offered`), versions in the order the log first decided on them (those
    approved in no channel are left out), from an asset's standing decisions in log
    order."""
    standing = list(standing)
    order = {version_id: n for n, (version_id, _, _) in reversed(list(enumerate(standing)))}
    channels: dict[str, list[str]] = {}
    for channel, version_id in sorted(offered(fold_approvals(standing), removed).items()):
        channels.setdefault(version_id, []).append(channel)
    return {version_id: channels[version_id]
            for version_id in sorted(channels, key=order.__getitem__)}
