"""The recorded chain of a version: its first-parent ancestry, root first.

A version's ``parent_ids[0]`` is the version its step started from (the input of an
edit, the draft a final was promoted from). Rebuild, re-bake, provenance and export all
walk this chain; it is read from the event store (the authority), never from a read
model that may lag behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from commands.asset_state import AssetState, VersionInfo, load_asset, locate_asset
from events.assets import VersionCreated
from events.errors import DomainError, NotFound
from events.store import EventStore

MAX_CHAIN_LENGTH = 1000
"""A guard against a damaged log that loops; real chains are a handful of steps."""


class ChainReader:
    """Finds versions by id, folding each asset stream they live in once per reader.

    An asset is folded through the store's fold cache (commands.asset_state.load_asset):
    the log itself, caught up with the events after the cached fold and checked against
    it, so a walk costs one short query per asset however long the chain or the stream.
    """

    def __init__(self, store: EventStore, assets: Iterable[AssetState] = ()) -> None:
        """``assets``: assets the caller already folded, read again only for versions
        they do not hold."""
        self.store = store
        self._assets: dict[str, AssetState] = {}
        self._versions: dict[str, VersionInfo] = {}
        for asset in assets:
            self._add(asset)

    def _add(self, asset: AssetState) -> None:
        self._assets[asset.asset_id] = asset
        self._versions.update(asset.versions)

    def version(self, version_id: str) -> VersionCreated:
        """The VersionCreated event of ``version_id``; NotFound when there is none."""
        if version_id not in self._versions:
            asset_id = locate_asset(self.store, version_id, "version")
            if asset_id not in self._assets:
                self._add(load_asset(self.store, asset_id)[0])
        if version_id not in self._versions:
            raise NotFound(f"version {version_id} does not exist")
        return self._versions[version_id].event

    def created_at(self, version_id: str) -> datetime:
        """When the version was recorded."""
        self.version(version_id)
        return self._versions[version_id].created_at

    def asset(self, asset_id: str) -> AssetState:
        """The folded asset holding a version this reader found (its comments, decisions
        and pins as of the same read)."""
        return self._assets[asset_id]

    def chain(self, version_id: str) -> list[VersionCreated]:
        """The versions from the root to ``version_id`` following first parents.

        Raises NotFound for an unknown version (or a parent missing from the log) and
        DomainError when the parents loop.
        """
        chain = [self.version(version_id)]
        seen = {version_id}
        while chain[-1].parent_ids:
            parent_id = chain[-1].parent_ids[0]
            if parent_id in seen or len(chain) >= MAX_CHAIN_LENGTH:
                raise DomainError(f"the parents of version {version_id} form a loop at "
                                  f"{parent_id}; the log is damaged")
            seen.add(parent_id)
            chain.append(self.version(parent_id))
        chain.reverse()
        return chain


def load_chain(store: EventStore, version_id: str) -> list[VersionCreated]:
    """:meth:`ChainReader.chain` with a fresh reader."""
    return ChainReader(store).chain(version_id)


def is_source_step(version: VersionCreated) -> bool:
    """Whether the step's bytes came from outside (an upload or an imported image) and
    so are taken from the blob store rather than re-made."""
    return version.job_id is None or version.operation == "upload" or bool(version.imported)


def step_input_needed(version: VersionCreated) -> bool:
    """Whether the step's recipe takes its parent's image as input (generate does not,
    even when it has a parent: a final promoted from a draft re-renders from the prompt)."""
    return version.operation != "generate"
