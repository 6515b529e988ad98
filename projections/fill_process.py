"""A replay's second fill process (see projections/fill.py), started by spawn.

It is handed a :class:`projections.fill.SecondFill` (the database URL, the projections'
names, the batch size) and builds everything else itself: its engine, its runner, the
projections looked up by name. Nothing of the parent comes along, so the threads and
pooled connections the parent had when it started the fill cannot hang or share
anything with this process.
"""

from __future__ import annotations

from typing import Any

from events.db import make_engine
from projections.fill import SecondFill
from projections.known import by_names
from projections.runner import ProjectionRunner


def run(order: SecondFill, read: Any) -> None:  # noqa: ANN401 - a multiprocessing Value
    """Fill the ``__next`` tables of ``order.names``; set ``read.value`` to the events
    read. Raising ends the process with a non-zero exit code (the parent swaps
    nothing)."""
    engine = make_engine(order.database_url)
    try:
        runner = ProjectionRunner(engine, by_names(order.names),
                                  replay_batch_size=order.replay_batch_size,
                                  before_commit=order.before_commit)
        read.value = runner.fill_next()
    finally:
        engine.dispose()
