"""SIGKILL a process in the middle of appends: every acknowledged write survives, nothing
is half-written, and the hash chain verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from events.verify import verify_chain

WRITER = textwrap.dedent("""
    import sys
    from events.db import make_engine
    from events.store import ANY, EventStore, Metadata
    from tests.integration.test_event_store import NoteAdded

    store = EventStore(make_engine(sys.argv[1]))
    i = 0
    while True:
        recorded = store.append(f"s-{i % 5}", ANY, [NoteAdded(text=str(i)), NoteAdded(text="b")],
                                Metadata(command_id=f"cmd-{i}"), stream_type="test")
        print(recorded[-1].position, flush=True)  # acknowledged
        i += 1
""")


def test_sigkill_mid_appends_loses_no_acknowledged_event(store, engine, database_url):
    process = subprocess.Popen([sys.executable, "-c", WRITER, database_url],
                               stdout=subprocess.PIPE, text=True,
                               cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                                   os.path.abspath(__file__)))))
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            acknowledged.append(int(line))
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()

    assert len(acknowledged) >= 40
    head = store.head().position
    assert head >= acknowledged[-1]
    log = list(store.iter_all())
    assert [r.position for r in log] == list(range(1, head + 1))
    # Appends are two events each: a torn append would leave an odd count.
    assert head % 2 == 0
    report = verify_chain(engine)
    assert report.ok, report
