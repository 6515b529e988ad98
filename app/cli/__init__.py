"""The ``lineage`` command. Each area module adds its sub-commands with ``register``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

AREAS = (
    "app.cli.serve",
    "app.cli.db",
    "app.cli.users",
    "app.cli.projections",
    "app.cli.backup",
    "app.cli.workers",
    "app.cli.rebuild",
    "app.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for area in AREAS:
        importlib.import_module(area).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
