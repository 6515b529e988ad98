"""``lineage backup DIR`` and ``lineage restore DIR [--force]`` (embedded SQLite)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.backup import backup, restore
from app.config import Settings


def register(sub: argparse._SubParsersAction) -> None:
    make = sub.add_parser("backup", help="online backup of the SQLite database and blobs")
    make.add_argument("destination", type=Path)
    make.set_defaults(func=_backup)
    back = sub.add_parser("restore", help="restore a backup made by `lineage backup`")
    back.add_argument("source", type=Path)
    back.add_argument("--force", action="store_true", help="replace an existing database")
    back.set_defaults(func=_restore)


def _backup(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    report = backup(settings.database_url, settings.blob_dir, args.destination)
    print(f"backed up {report.events} events (chain verified) and {report.blobs} blobs "
          f"to {report.destination}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    events = restore(args.source, settings.database_url, settings.blob_dir, force=args.force)
    print(f"restored {events} events (chain verified) into {settings.database_url}")
    return 0
