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
    "app.cli.models",
    "app.cli.demo",
)


DESCRIPTION = """\
Lineage records every prompt, seed, edit, comment and approval of your generated images,
answers who approved which exact pixels and when, and re-makes an image from its recorded
steps."""
EPILOG = """\
Start here:
  lineage serve                 start Lineage on http://127.0.0.1:8000 (API docs at /api/docs)
  lineage demo                  watch the whole story run once, in a temporary folder
  lineage users create NAME     add a user and print their API token

Settings come from LINEAGE_* environment variables (see README.md), e.g.
LINEAGE_DATA_DIR (default ./var) and LINEAGE_DATABASE_URL.
Run `lineage COMMAND --help` for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineage", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                title="commands")
    for area in AREAS:
        importlib.import_module(area).register(sub)
    return parser


TORCHVISION_FALLBACK = "requires torchvision (not installed)"
"""transformers warns, on every start, that its image processors fall back to Pillow
without torchvision. Lineage never uses those processors (it only loads CLIP's text side
through diffusers), and installing torchvision would pull a second torch build."""


class _WithoutTorchvisionFallback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return TORCHVISION_FALLBACK not in record.getMessage()


def silence_library_noise() -> None:
    """Drop the torchvision fallback warnings (installed before transformers is imported:
    its loggers are the standard library's, by name)."""
    logger = logging.getLogger("transformers.utils.import_utils")
    if not any(isinstance(f, _WithoutTorchvisionFallback) for f in logger.filters):
        logger.addFilter(_WithoutTorchvisionFallback())


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    silence_library_noise()
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
