"""``lineage rebuild VERSION_ID`` and ``lineage rebuild --all --project P``.

Runs rebuilds in this process (no worker, no job recorded) and prints the report: one
version step by step, or every approved version of a project as a table (a nightly
"are our approved assets still reproducible" check). Exits 1 when anything diverged or
could not be rebuilt, so a scheduler notices.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.config import Settings
from app.services import build_services
from events.errors import DomainError
from projections.registry import ACCESS, TREE, make_runner
from projections.review_state import approved_versions
from workers.rebuild import STOPPED, rebuild_report
from workers.rebuild_compare import DIVERGED, Tolerance

FAILING = (DIVERGED, STOPPED)


def register(sub: argparse._SubParsersAction) -> None:
    rebuild = sub.add_parser("rebuild", help="re-make versions from their recorded lineage "
                                             "and compare them with what was recorded")
    rebuild.add_argument("version_id", nargs="?", help="the version to rebuild")
    rebuild.add_argument("--all", action="store_true",
                         help="rebuild every approved version of --project")
    rebuild.add_argument("--project", help="the project for --all")
    rebuild.add_argument("--json", action="store_true", help="print the report(s) as JSON")
    rebuild.add_argument("--max-channel-difference", type=int,
                         default=Tolerance.max_channel_difference,
                         help="largest channel difference still within tolerance")
    rebuild.add_argument("--min-psnr", type=float, default=Tolerance.min_psnr,
                         help="smallest PSNR (dB) still within tolerance")
    rebuild.set_defaults(func=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    if args.all == bool(args.version_id) or (args.all and not args.project):
        print("give either a VERSION_ID, or --all --project PROJECT_ID")
        return 2
    services = build_services(Settings.from_env())
    tolerance = Tolerance(args.max_channel_difference, args.min_psnr)
    try:
        if args.all:
            return _rebuild_project(services, args.project, tolerance, args.json)
        report = rebuild_report(services.store, services.blobs, args.version_id,
                                tolerance=tolerance)
    except DomainError as exc:
        print(f"error: {exc.detail}")
        return 2
    finally:
        services.close()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 1 if report["verdict"] in FAILING else 0


def _rebuild_project(services, project_id: str, tolerance: Tolerance,  # noqa: ANN001
                     as_json: bool) -> int:
    rows = []
    make_runner(services.engine).catch_up([*ACCESS, *TREE])  # read what the log holds now
    with services.engine.connect() as conn:
        standing = approved_versions(conn, project_id)
    for approved in standing:
        report = rebuild_report(services.store, services.blobs, approved["version_id"],
                                tolerance=tolerance)
        rows.append({**approved, "report": report})
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))
    return 1 if any(row["report"]["verdict"] in FAILING for row in rows) else 0


def format_report(report: dict[str, Any]) -> str:
    """The report in plain lines: the summary, one line per step, the differences."""
    lines = [report["summary"], ""]
    for step in report["steps"]:
        figures = ""
        if step.get("max_channel_difference"):
            figures = (f" (max channel difference {step['max_channel_difference']}, "
                       f"{step['changed_pixel_share']:.2%} of pixels changed, "
                       f"PSNR {step['psnr']} dB)")
        lines.append(f"  {step['index'] + 1}. {step['operation']:<9} {step['version_id']}  "
                     f"{step['verdict']}{figures}  [{step['source']}, "
                     f"{step['rebuild_seconds']:.2f} s rebuilt / "
                     f"{step['recorded_seconds']:.2f} s recorded]")
        lines += [f"     {line}" for line in _step_notes(step)]
    if report["stopped"]:
        stop = report["stopped"]
        lines.append(f"  {stop['index'] + 1}. {stop['operation']:<9} {stop['version_id']}  "
                     f"STOPPED: {stop['message']}")
    if report["environment_differences"]:
        lines += ["", "Environment differences (recorded -> now):"]
        lines += [f"  {d['key']}: {d['recorded']!r} -> {d['current']!r}"
                  for d in report["environment_differences"]]
    return "\n".join(lines)


def _step_notes(step: dict[str, Any]) -> list[str]:
    """What a step's verdict alone does not say: a hosted step's note, and for an
    imported image the model it was re-rendered on or why it was not."""
    notes = [step["note"]] if step.get("note") else []
    rerender = step.get("rerender")
    if rerender and rerender.get("possible"):
        notes.append(f"imported: re-rendered on {rerender['model_id']} (hash "
                     f"{rerender['model_hash']} matched its {rerender['matched']} hash)")
    elif rerender:
        notes.append("imported: not re-rendered: " + "; ".join(rerender["reasons"]))
    notes += [f"approximated: {item}" for item in (rerender or {}).get("approximations", [])]
    return notes


def format_table(rows: list[dict[str, Any]]) -> str:
    """One line per approved version: verdict, steps, channels, differences."""
    if not rows:
        return "no approved versions in this project"
    header = f"{'VERSION':<36}  {'ASSET':<20}  {'CHANNELS':<14}  {'VERDICT':<16}  STEPS  NOTES"
    lines = [header, "-" * len(header)]
    for row in rows:
        report = row["report"]
        notes = ", ".join(sorted({d["key"] for d in report["environment_differences"]}))
        if report["stopped"]:
            notes = report["stopped"]["message"]
        lines.append(f"{row['version_id']:<36}  {str(row['asset_name'])[:20]:<20}  "
                     f"{','.join(row['channels'])[:14]:<14}  {report['verdict']:<16}  "
                     f"{len(report['chain']):>5}  {notes}")
    failing = sum(1 for row in rows if row["report"]["verdict"] in FAILING)
    lines.append(f"\n{len(rows)} approved version(s), {failing} not reproducible")
    return "\n".join(lines)
