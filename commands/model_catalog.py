"""The model registry as folded state: pure (no store), so the engine can hold a view
of it without the database layer. commands/models.py reads and writes it."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

from events.errors import NotFound
from events.models import ModelRegistered, ModelTierAssigned
from events.types import Event

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclasses.dataclass
class Entry:
    """A registered name's latest registration and its history of weights."""

    event: ModelRegistered
    registered_at: datetime | None
    revisions: int = 1
    previous_hashes: list[str] = dataclasses.field(default_factory=list)
    sequence: int = 0
    """Registration order across all names (the latest registration wins a spec)."""


@dataclasses.dataclass
class Registry:
    entries: dict[str, Entry] = dataclasses.field(default_factory=dict)
    tiers: dict[str, str] = dataclasses.field(default_factory=dict)
    registrations: int = 0

    def entry(self, name: str) -> Entry:
        if name not in self.entries:
            known = ", ".join(sorted(self.entries)) or "none yet"
            raise NotFound(f"no registered model named {name!r} (registered: {known})")
        return self.entries[name]

    def for_tier(self, tier: str) -> ModelRegistered | None:
        name = self.tiers.get(tier)
        return self.entries[name].event if name in self.entries else None

    def by_spec(self, spec: str) -> ModelRegistered | None:
        """The pipeline entry that loads ``spec`` (the most recently registered one)."""
        found = [e for e in self.entries.values()
                 if e.event.spec == spec and e.event.kind == "pipeline"]
        found.sort(key=lambda e: e.sequence)
        return found[-1].event if found else None


def apply(state: Registry, event: Event, at: datetime | None = None) -> None:
    match event:
        case ModelRegistered():
            old = state.entries.get(event.name)
            state.registrations += 1
            entry = Entry(event, at, sequence=state.registrations)
            if old is not None:
                entry.revisions = old.revisions + 1
                entry.previous_hashes = [*old.previous_hashes, old.event.weights_hash]
            state.entries[event.name] = entry
        case ModelTierAssigned():
            state.tiers[event.tier] = event.name
