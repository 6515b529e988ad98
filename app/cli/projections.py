"""``lineage projections run|status|replay [NAME...]``: the read-model runner.

``replay`` re-reads the event log into fresh read tables; it was called ``rebuild``,
which is still accepted (hidden, with a note) so older scripts keep working. Re-making
an image from its lineage is ``lineage rebuild`` (app/cli/rebuild.py)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from app.config import Settings
from app.services import build_services
from projections.registry import make_runner
from projections.service import run_forever


def register(sub: argparse._SubParsersAction) -> None:
    projections = sub.add_parser("projections", help="read models built from the event log")
    actions = projections.add_subparsers(dest="projections_command", required=True,
                                         metavar="{run,status,replay}")
    run = actions.add_parser("run", help="keep projections caught up (several may run; "
                                         "checkpoint locks stop double applies)")
    run.add_argument("names", nargs="*", help="projections to run (default: all)")
    run.add_argument("--once", action="store_true", help="catch up once and exit")
    run.set_defaults(func=_run)
    actions.add_parser("status", help="checkpoint and lag of each projection").set_defaults(
        func=_status)
    replay = actions.add_parser(
        "replay", help="replay the event log from position 0 into fresh read tables "
                       "(blue/green: the old tables serve until the switch)")
    replay.add_argument("names", nargs="*", help="projections to replay, in one pass over "
                                                 "the log (default: all)")
    replay.set_defaults(func=_replay)
    # The old name, hidden from the help (no help=): scripts written before the rename.
    old = actions.add_parser("rebuild", description="Deprecated name of "
                             "`lineage projections replay`.")
    old.add_argument("names", nargs="*", help="projections to replay (default: all)")
    old.set_defaults(func=_replay_by_old_name)


def _run(args: argparse.Namespace) -> int:
    services = build_services(Settings.from_env())
    runner = make_runner(services.engine)
    for name in args.names:
        runner.projection(name)  # fail fast on a typo
    if args.once:
        print(f"applied {runner.catch_up(args.names or None)} events")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("projections running; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(runner, services.store, stop, args.names or None)
    return 0


def _status(_args: argparse.Namespace) -> int:
    runner = make_runner(build_services(Settings.from_env()).engine)
    print(f"{'projection':<14} {'position':>10} {'head':>10} {'behind':>8} {'lag s':>8}")
    for row in runner.status():
        print(f"{row.name:<14} {row.position:>10} {row.head:>10} {row.behind:>8} "
              f"{row.lag_seconds:>8.1f}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    runner = make_runner(build_services(Settings.from_env()).engine)
    for name in args.names:
        runner.projection(name)  # fail fast on a typo, before any table is touched
    names = args.names or list(runner.projections)
    read = runner.replay(*names)  # one pass over the log for all of them
    print(f"replayed {', '.join(names)} from {read} events")
    return 0


def _replay_by_old_name(args: argparse.Namespace) -> int:
    print("note: `lineage projections rebuild` is now `lineage projections replay` "
          "(`lineage rebuild` re-makes images)", file=sys.stderr)
    return _replay(args)
