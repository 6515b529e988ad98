"""SQLite WAL checkpoints off the append path.

By default the commit that takes the WAL past 1,000 pages copies them back into the
database file itself (and, at any synchronous level, fsyncs the WAL and the file): with
six b-trees touched per append that landed on every ~160th writer and cost more wall time
than the appends in between. A checkpointer thread with its own connection does that work
instead, a moment after commits, while writers go on appending (PASSIVE checkpoints take
no lock a writer needs; only a WAL past RESTART_PAGES pauses this process's writers for
the short catch-up that lets the next commit start it over). Durability is unchanged: a
commit is as durable as the synchronous level makes it before any checkpoint runs.

The write connection keeps an automatic checkpoint at a larger size as a backstop, so
the WAL stays bounded even if this thread falls behind or never gets to run.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

BACKSTOP_PAGES = 8000
"""wal_autocheckpoint for the write connection (32 MiB of 4 KiB pages)."""

RESTART_PAGES = 1000
"""A WAL longer than this is checkpointed with this process's writers paused, so the
checkpoint catches up and the next commit starts the WAL over. Without the pause a
checkpoint rarely caught up with writers that never stop, the WAL grew to ~25 MiB, and
while it grew every FULL fsync also committed the file's new size (single appends ran
at half speed)."""

SETTLE_SECONDS = 0.05
"""Pause after a checkpoint so the next one copies many commits' pages (the WAL often
holds the same page of each index many times over) for one pair of fsyncs."""


class WalCheckpointer:
    """A daemon thread that checkpoints ``database`` after :meth:`committed` is called."""

    def __init__(self, database: str, synchronous: str, writers: threading.Lock) -> None:
        self._database = database
        self._writers = writers  # held by this process's writer while it appends
        self._synchronous = synchronous
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="lineage-wal-checkpoint",
                                         daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Ask for a checkpoint soon (called after every append: while one is already
        asked for, this is one attribute read)."""
        if not self._wake.is_set():
            self._wake.set()

    def stop(self) -> None:
        """Stop the thread and wait (briefly) until it has closed its connection."""
        self._stopped = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        connection = sqlite3.connect(self._database, isolation_level=None,
                                     check_same_thread=False)
        try:
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            while True:
                self._wake.wait()
                if self._stopped:
                    return
                self._wake.clear()
                # A failure (disk full, file gone) is the writers' to report; the backstop
                # still bounds the WAL, so this thread just tries again after the next append.
                with contextlib.suppress(sqlite3.Error):
                    _, frames, _ = connection.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames > RESTART_PAGES and self._writers.acquire(timeout=1):
                        try:  # little is left to copy after the passive pass
                            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        finally:
                            self._writers.release()
                time.sleep(SETTLE_SECONDS)
        finally:
            connection.close()
