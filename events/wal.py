"""SQLite WAL checkpoints off the append path.

By default the commit that takes the WAL past 1,000 pages copies them back into the
database file itself (and, at any synchronous level, fsyncs the WAL and the file): with
six b-trees touched per append that landed on every ~160th writer and cost more wall time
than the appends in between. A checkpointer thread with its own connection does that work
instead, a moment after commits, while writers go on appending (PASSIVE checkpoints take
no lock a writer needs). Durability is unchanged: a commit is as durable as the
synchronous level makes it before any checkpoint runs.

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

SETTLE_SECONDS = 0.05
"""Pause after a checkpoint so the next one copies many commits' pages (the WAL often
holds the same page of each index many times over) for one pair of fsyncs."""


class WalCheckpointer:
    """A daemon thread that checkpoints ``database`` after :meth:`committed` is called."""

    def __init__(self, database: str, synchronous: str) -> None:
        self._database = database
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
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                time.sleep(SETTLE_SECONDS)
        finally:
            connection.close()
