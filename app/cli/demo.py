"""``lineage demo [--data-dir DIR]``: the guided story, end to end (see app/demo_story.py)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from app.demo import DemoFailed
from app.demo_story import run_demo


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the guided story (drafts, review, edits, "
                                       "approval, time travel, audit, rebuild, re-bake)")
    demo.add_argument("--data-dir", type=Path, default=None,
                      help="where to keep the demo's database, blobs and model "
                           "(default: a new temporary folder)")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000",
                      help="the server address printed in the URLs")
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="lineage-demo-"))
    if (data_dir / "lineage.db").exists():
        print(f"{data_dir} already holds a Lineage database; give an empty folder")
        return 2
    try:
        result = run_demo(data_dir, base_url=args.base_url)
    except DemoFailed as exc:
        print(f"\nDEMO FAILED: {exc}")
        return 1
    return 0 if result.verified and result.rebuild_verdict == "bit_exact" else 1
