"""A per-process cache of folded write-side streams: fold only the events after the
cached version.

Without it every write (and every authorisation check) folds its asset and project
streams from the first event, so a request's cost grows with the stream's history.
With it a request reads the stream's tail from the cached version on: one short query
that also returns the cached last event, whose hash must still match. Events are never
changed or deleted, so a matching hash proves the cached prefix is still the stream's;
anything else (a database restored or truncated behind the process) folds from zero.
Events appended by other processes or threads are in the tail, so a cached fold always
equals a fresh one.

Cached states are shared between request threads and must never be mutated: catching
up folds the tail into a copy (``Folding.copy``), and the ``apply`` functions of cached
states never mutate an object they did not create in the same step.
"""

from __future__ import annotations

import collections
import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

from events.store import EventStore, Recorded

S = TypeVar("S")
T = TypeVar("T")

STREAMS_PER_STORE = 1024
"""Folded streams kept per store (least recently used go first)."""
FACTS_PER_STORE = 65536
"""Immutable facts (an entity's stream, an asset's project) kept per store."""


class Folding(Generic[S]):
    """How to fold one kind of stream: a fresh state, ``apply(state, event, at)`` (in place,
    never touching objects a copy shares) and ``copy(state)`` (copies the containers
    ``apply`` changes)."""

    def __init__(self, new: Callable[[], S], apply: Callable[[S, object, datetime | None], None],
                 copy: Callable[[S], S]) -> None:
        self.new, self.apply, self.copy = new, apply, copy


class Folded(NamedTuple, Generic[S]):
    """A stream folded up to ``version``; ``last_hash`` is the hash of that event."""

    state: object
    version: int
    last_hash: str | None


class _Lru(Generic[T]):
    """A bounded mapping, most recently used last; callers hold the lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: collections.OrderedDict[Hashable, T] = collections.OrderedDict()

    def get(self, key: Hashable) -> T | None:
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
        return found

    def put(self, key: Hashable, value: T) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.limit:
            self.items.popitem(last=False)


class FoldCache:
    """Folded streams and immutable facts of one event store, shared by its threads."""

    def __init__(self, store: EventStore) -> None:
        self._store = weakref.ref(store)
        self._lock = threading.Lock()
        self._folds: _Lru[Folded] = _Lru(STREAMS_PER_STORE)
        self._facts: _Lru[object] = _Lru(FACTS_PER_STORE)

    @property
    def store(self) -> EventStore:
        store = self._store()
        assert store is not None, "the cache outlived its store"
        return store

    def load(self, stream: str, folding: Folding[S]) -> Folded[S]:
        """The stream folded up to its current version (version 0: no such stream)."""
        with self._lock:
            cached = self._folds.get((stream, folding))
        return self.advance(stream, folding, cached)

    def load_up_to(self, stream: str, folding: Folding[S], version: int) -> Folded[S]:
        """The stream folded up to ``version`` (a command's answer just after its own
        append): caught up from the cached fold when that is not past ``version``."""
        with self._lock:
            cached = self._folds.get((stream, folding))
        if cached is not None and cached.version == version:
            return cached
        base = cached if cached is not None and cached.version < version else None
        return self.advance(stream, folding, base, up_to_version=version)

    def advance(self, stream: str, folding: Folding[S], base: Folded[S] | None,
                up_to_version: int | None = None) -> Folded[S]:
        """``base`` caught up with the stream (up to ``up_to_version`` when given), from
        zero when ``base`` is None or no longer a prefix of the stream. The result is
        remembered when it is newer than what the cache holds."""
        if base is not None and base.version > 0:
            tail = self.store.read_stream(stream, from_version=base.version,
                                           up_to_version=up_to_version)
            if tail and tail[0].stream_version == base.version and tail[0].hash == base.last_hash:
                return self._extend(stream, folding, base, tail[1:])
        tail = self.store.read_stream(stream, up_to_version=up_to_version)
        return self._extend(stream, folding, Folded(None, 0, None), tail)

    def _extend(self, stream: str, folding: Folding[S], base: Folded[S],
                tail: Sequence[Recorded]) -> Folded[S]:
        if not tail and base.state is not None:
            return base
        state = folding.new() if base.state is None else folding.copy(base.state)
        for recorded in tail:
            folding.apply(state, recorded.event, recorded.recorded_at)
        last = tail[-1] if tail else None
        folded = Folded(state, last.stream_version, last.hash) if last else Folded(state, 0, None)
        if folded.version:
            self.remember(stream, folding, folded)
        return folded

    def extend(self, stream: str, folding: Folding[S], base: Folded[S],
               recorded: Sequence[Recorded]) -> Folded[S]:
        """``base`` folded on up to the last of ``recorded`` on ``stream`` (a command's own
        append): without a query when they directly follow ``base``, else by reading the
        tail. Returns ``base`` when ``recorded`` holds nothing of ``stream``."""
        own = [r for r in recorded if r.stream_id == stream]
        if not own:
            return base
        expected = range(base.version + 1, base.version + 1 + len(own))
        if base.state is not None and [r.stream_version for r in own] == list(expected):
            return self._extend(stream, folding, base, own)
        return self.advance(stream, folding, base, up_to_version=own[-1].stream_version)

    def remember(self, stream: str, folding: Folding[S], folded: Folded[S]) -> None:
        """Keep ``folded`` unless the cache already holds a newer fold of ``stream``."""
        key = (stream, folding)
        with self._lock:
            held = self._folds.get(key)
            if held is None or held.version < folded.version:
                self._folds.put(key, folded)

    def known(self, key: Hashable) -> object | None:
        """The fact remembered under ``key``, None when there is none yet (a caller that
        reads many facts in one query asks first which it still needs)."""
        with self._lock:
            return self._facts.get(key)

    def fact(self, key: Hashable, compute: Callable[[], T | None]) -> T | None:
        """``compute()``, remembered under ``key`` once it is not None: for facts that
        never change once recorded (an entity's stream, an asset's project)."""
        with self._lock:
            found = self._facts.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
        value = compute()
        if value is not None:
            with self._lock:
                self._facts.put(key, value)
        return value


_caches: weakref.WeakKeyDictionary[EventStore, FoldCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_of(store: EventStore) -> FoldCache:
    """The store's cache (one per store object, dropped with it)."""
    found = _caches.get(store)
    if found is None:
        with _caches_lock:
            found = _caches.get(store)
            if found is None:
                found = _caches[store] = FoldCache(store)
    return found
