"""The recorded chain of a version: its first-parent ancestry, root first.

A version's ``parent_ids[0]`` is the version its step started from (the input of an
edit, the draft a final was promoted from). Rebuild, re-bake, provenance and export all
walk this chain; it is read from the event store (the authority), never from a read
model that may lag behind.
"""

from __future__ import annotations

from datetime import datetime

from events.assets import VersionCreated
from events.errors import DomainError, NotFound
from events.store import EventStore

MAX_CHAIN_LENGTH = 1000
"""A guard against a damaged log that loops; real chains are a handful of steps."""


class ChainReader:
    """Finds versions by id, reading each asset stream once and remembering it."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._versions: dict[str, VersionCreated] = {}
        self._created_at: dict[str, datetime] = {}
        self._streams_read: set[str] = set()

    def version(self, version_id: str) -> VersionCreated:
        """The VersionCreated event of ``version_id``; NotFound when there is none."""
        if version_id not in self._versions:
            stream = self.store.locate(version_id)
            if stream is not None and stream not in self._streams_read:
                self._streams_read.add(stream)
                for recorded in self.store.read_stream(stream):
                    if isinstance(recorded.event, VersionCreated):
                        self._versions[recorded.event.version_id] = recorded.event
                        self._created_at[recorded.event.version_id] = recorded.recorded_at
        if version_id not in self._versions:
            raise NotFound(f"version {version_id} does not exist")
        return self._versions[version_id]

    def created_at(self, version_id: str) -> datetime:
        """When the version was recorded (the version must have been read)."""
        self.version(version_id)
        return self._created_at[version_id]

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
