"""Filling a rebuild's fresh tables: in one process, or split across two on PostgreSQL.

A rebuild fills each projection's ``__next`` tables from position 0, batch after batch,
each batch committed with that generation's own checkpoint. Projections are independent
(separate tables, separate checkpoints), so on PostgreSQL two processes can fill two
groups of them at once, each reading the log itself: the work is mostly Python per
event, and one process uses one core. The parent waits for both, and the swap into the
live tables stays one transaction in the parent (see ProjectionRunner.rebuild).

SQLite has one writer at a time, so there the fill stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

FILL_PROCESSES = 2
REBUILD_COSTS = {"audit": 5.0, "catalog": 5.0, "review_state": 3.0, "version_tree": 1.5,
                 "metrics": 1.0, "access": 0.1}
"""Relative cost per log event of rebuilding each projection (measured on the read
benchmark's history), to give the two fill processes equal shares; others count 1."""

Fill = Callable[[Sequence[Any]], int]


def processes_for(dialect: str, wanted: int | None = None) -> int:
    """How many processes fill a rebuild on this database: ``wanted`` (default two on
    PostgreSQL with two cores or more), and always one on SQLite (one writer)."""
    if dialect != "postgresql":
        return 1
    if wanted is not None:
        return max(1, wanted)
    return FILL_PROCESSES if (os.cpu_count() or 1) >= 2 else 1


def split(targets: Sequence[Any], processes: int) -> list[list[Any]]:
    """``targets`` (tuples whose first item is a Projection) in ``processes`` groups of
    about equal cost, heaviest first, each group in the given order; no empty group."""
    groups: list[list[Any]] = [[] for _ in range(max(1, min(processes, len(targets))))]
    loads = [0.0] * len(groups)
    for target in sorted(targets, key=lambda t: -REBUILD_COSTS.get(t[0].name, 1.0)):
        lightest = loads.index(min(loads))
        groups[lightest].append(target)
        loads[lightest] += REBUILD_COSTS.get(target[0].name, 1.0)
    order = {id(target): n for n, target in enumerate(targets)}
    return [sorted(group, key=lambda t: order[id(t)]) for group in groups]


def fill_all(fill: Fill, groups: list[list[Any]], forget_connections: Callable[[], None],
             ) -> int:
    """Run ``fill`` on every group: the first here, any second in a forked process
    (``forget_connections`` runs first in the child, so it never touches the parent's
    pooled connections). Returns the most events one fill read.

    Raises what this process's fill raised (the child is stopped then), or RuntimeError
    when the child failed (its traceback is on stderr).
    """
    if len(groups) == 1:
        return fill(groups[0])
    if len(groups) > 2:
        raise ValueError("at most two fill processes")
    context = multiprocessing.get_context("fork")
    read = context.Value("q", 0)
    child = context.Process(target=_fill_child, args=(fill, groups[1], read,
                                                      forget_connections),
                            name="rebuild-fill", daemon=True)
    child.start()
    try:
        total = fill(groups[0])
    except BaseException:
        child.terminate()
        child.join()
        raise
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the rebuild's second fill process failed (exit code "
                           f"{child.exitcode}): nothing was swapped")
    return max(total, read.value)


def _fill_child(fill: Fill, group: list[Any], read: Any,  # noqa: ANN401
                forget_connections: Callable[[], None]) -> None:
    forget_connections()
    read.value = fill(group)
