"""``lineage db upgrade|downgrade|current`` and ``lineage verify``."""

from __future__ import annotations

import argparse

from app.config import Settings
from events.db import make_engine
from events.migrate import current_revision, downgrade, upgrade
from events.verify import verify_chain


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_upgrade)
    down = db_sub.add_parser("downgrade", help="migrate back to a revision")
    down.add_argument("revision")
    down.set_defaults(func=_downgrade)
    db_sub.add_parser("current", help="print the current revision").set_defaults(func=_current)
    verify = sub.add_parser("verify", help="re-walk the event hash chain")
    verify.set_defaults(func=_verify)


def _engine():  # noqa: ANN202
    return make_engine(Settings.from_env().database_url)


def _upgrade(args: argparse.Namespace) -> int:
    upgrade(_engine(), args.revision)
    print(f"database at {args.revision}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    downgrade(_engine(), args.revision)
    print(f"database at {args.revision}")
    return 0


def _current(_args: argparse.Namespace) -> int:
    print(current_revision(_engine()) or "empty")
    return 0


def _verify(_args: argparse.Namespace) -> int:
    report = verify_chain(_engine())
    if report.ok:
        print(f"OK: {report.checked} events, hash chain intact up to position "
              f"{report.head_position}")
        return 0
    print(f"TAMPERED: first bad position {report.first_bad_position}: {report.reason} "
          f"({report.checked} events verified before it)")
    return 1
