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

from events.records import Metadata, Pending, Recorded


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
        self._state = threading.Condition()
        self._writing = False
        self._queue: list[AppendRequest] = []

    def submit(self, request: AppendRequest) -> list[Recorded]:
        with self._state:
            self._queue.append(request)
            # A request written by someone else's group returns as soon as that group
            # committed, without queuing for the next group's write.
            while self._writing and not request.done:
                self._state.wait()
            if not request.done:
                self._writing = True
                group, self._queue = self._queue, []
        if not request.done:
            try:
                self._write_group(group)
            except BaseException as exc:
                for queued in group:
                    queued.result, queued.error = None, exc
                raise
            finally:
                with self._state:
                    for queued in group:
                        queued.done = True
                    self._writing = False
                    self._state.notify_all()
        if request.error is not None:
            raise request.error
        return request.result
