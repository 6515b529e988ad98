"""``lineage projections run|status|rebuild [NAME]``: the read-model runner."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from app.config import Settings
from app.services import build_services
from projections.registry import make_runner
from projections.service import run_forever


def register(sub: argparse._SubParsersAction) -> None:
    projections = sub.add_parser("projections", help="read models built from the event log")
    actions = projections.add_subparsers(dest="projections_command", required=True)
    run = actions.add_parser("run", help="keep projections caught up (several may run; "
                                         "checkpoint locks stop double applies)")
    run.add_argument("names", nargs="*", help="projections to run (default: all)")
    run.add_argument("--once", action="store_true", help="catch up once and exit")
    run.set_defaults(func=_run)
    actions.add_parser("status", help="checkpoint and lag of each projection").set_defaults(
        func=_status)
    rebuild = actions.add_parser("rebuild", help="rebuild from position 0 (blue/green: "
                                                 "the old tables serve until the switch)")
    rebuild.add_argument("name", nargs="?", help="projection to rebuild (default: all)")
    rebuild.set_defaults(func=_rebuild)


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


def _rebuild(args: argparse.Namespace) -> int:
    runner = make_runner(build_services(Settings.from_env()).engine)
    names = [args.name] if args.name else list(runner.projections)
    read = runner.rebuild(*names)  # one pass over the log for all of them
    print(f"rebuilt {', '.join(names)} from {read} events")
    return 0
