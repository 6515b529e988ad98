"""Group commit: appends from threads that arrive while another append is being written
are then written together, in one transaction, one commit.

A commit is the expensive part of a small append (a WAL fsync on PostgreSQL and on SQLite
at ``FULL``; WAL pages and statements at ``NORMAL``) and writers queue for the one head
lock anyway, so the thread that gets the lock writes every append queued by then. Each
append still stands alone: it runs in its own savepoint against everything before it (its
versions, command id and stream creation are checked as if it ran alone, in queue order),
and a refused one is rolled back to its savepoint and raises in its own thread only.
Nobody returns before the shared commit has succeeded; if it fails, every append of the
group raises that failure, exactly as if each had failed to commit alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from events.append import Pending
    from events.store import Metadata, Recorded


class AppendRequest:
    """One append waiting for (or written by) a group."""

    __slots__ = ("pending", "count", "meta", "occurred_at", "event_ids", "result", "error",
                 "done")

    def __init__(self, pending: Sequence[Pending], count: int, meta: Metadata,
                 occurred_at: datetime | None, event_ids: Sequence[str]) -> None:
        self.pending, self.count, self.meta = pending, count, meta
        self.occurred_at, self.event_ids = occurred_at, event_ids
        self.result: list[Recorded] | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    """Queues appends; whoever holds the write lock writes the whole queue.

    ``write_group(requests)`` writes the requests in one transaction, setting each one's
    ``result`` or (for a refused append) ``error``; raising means nothing was committed.
    """

    def __init__(self, write_group: Callable[[list[AppendRequest]], None]) -> None:
        self._write_group = write_group
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[AppendRequest] = []

    def submit(self, request: AppendRequest) -> list[Recorded]:
        with self._queue_lock:
            self._queue.append(request)
        with self._write_lock:
            # Not done: no earlier holder took it, so it is in the queue now.
            if not request.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    self._write_group(group)
                except BaseException as exc:
                    for queued in group:
                        queued.result, queued.error = None, exc
                    raise
                finally:
                    for queued in group:
                        queued.done = True
        if request.error is not None:
            raise request.error
        return request.result
