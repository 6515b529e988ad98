"""Do the live read tables equal a replay from zero?

Catch-up (many small batches, rows updated after they were written) and replay (one
pass over the log into fresh tables) share one code path, so they must leave the same
rows. The tests assert it and the distributed run's checker proves it on the database a
studio day left behind; both compare through this module, row by row.

A snapshot keeps a digest per row (and the row's text, cut short, to show in a
difference), so a table of a few hundred thousand rows compares in little memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Engine, select

from projections.registry import PROJECTIONS, make_runner

Snapshot = dict[str, dict[bytes, str]]
"""Table name → row key → the row's text. A row key is the digest of the row's text and
a count, so identical rows (a table without a primary key) are told apart."""

ROW_TEXT_CHARS = 300
EXAMPLES = 3


@dataclasses.dataclass(frozen=True)
class TableDifference:
    """One table whose rows differ: row counts on each side, the numbers of rows found on
    one side only, and a few of those rows (sorted) as examples."""

    table: str
    live_rows: int
    replayed_rows: int
    only_live: int
    only_replayed: int
    live_examples: tuple[str, ...]
    replayed_examples: tuple[str, ...]

    def __str__(self) -> str:
        return (f"{self.table}: {self.live_rows} rows live, {self.replayed_rows} replayed "
                f"({self.only_live} only live, {self.only_replayed} only replayed; e.g. live "
                f"{list(self.live_examples[:1])} vs replayed {list(self.replayed_examples[:1])})")


@dataclasses.dataclass(frozen=True)
class ReplayComparison:
    """What :func:`compare_with_replay` found: tables and rows compared, and every table
    that differs (empty when the replay equals the live tables)."""

    tables: int
    rows: int
    differences: list[TableDifference]


def snapshot(engine: Engine, names: Iterable[str] = ()) -> Snapshot:
    """Every live read table of the named projections (default: all), by table name."""
    wanted = set(names)
    result: Snapshot = {}
    with engine.connect() as conn:
        for projection in PROJECTIONS:
            if wanted and projection.name not in wanted:
                continue
            for name, table in projection.live_tables.items():
                rows: dict[bytes, str] = {}
                seen: Counter[bytes] = Counter()
                for row in conn.execute(select(table)):
                    text = repr(tuple(map(repr, row)))
                    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
                    seen[digest] += 1
                    rows[digest + seen[digest].to_bytes(4, "big")] = text[:ROW_TEXT_CHARS]
                result[name] = rows
    return result


def differences(live: Snapshot, replayed: Snapshot) -> list[TableDifference]:
    """The tables whose rows differ between two snapshots (a table missing from one side
    counts as empty there), in table name order."""
    found = []
    for table in sorted(live.keys() | replayed.keys()):
        mine, theirs = live.get(table, {}), replayed.get(table, {})
        only_live = sorted(mine[key] for key in mine.keys() - theirs.keys())
        only_replayed = sorted(theirs[key] for key in theirs.keys() - mine.keys())
        if only_live or only_replayed:
            found.append(TableDifference(
                table, len(mine), len(theirs), len(only_live), len(only_replayed),
                tuple(only_live[:EXAMPLES]), tuple(only_replayed[:EXAMPLES])))
    return found


def compare_with_replay(engine: Engine, names: Iterable[str] = (),
                        **runner_options: object) -> ReplayComparison:
    """Catch the named projections (default: all) up, snapshot their live tables, replay
    them from position 0 in one pass, snapshot again and compare.

    The catch-up first means events appended since the last run are not reported as
    differences; other writers should be stopped, or their events may land between the
    two snapshots. ``runner_options`` go to :func:`projections.registry.make_runner`.
    The replayed tables stay live afterwards (they are the read side from then on)."""
    chosen = tuple(names)
    runner = make_runner(engine, **runner_options)
    runner.catch_up(chosen or None)
    live = snapshot(engine, chosen)
    runner.replay(*chosen)
    return ReplayComparison(len(live), sum(map(len, live.values())),
                            differences(live, snapshot(engine, chosen)))
