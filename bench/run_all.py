"""`make bench`: run every benchmark and write bench/REPORT.md.

Each script prints its own figures; this collects them beside the targets from the
issues and a description of the machine. Sizes are modest by default so the whole run
takes minutes on 2 cores; pass --full for the sizes the issues name.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (script, quick arguments, full arguments, targets from the issues)
BENCHMARKS = [
    ("store.py", ["--singles", "2000", "--batches", "200"], [],
     "at least 1.0x eventsourcing on every row on both databases, keeping the hash chain, "
     "the gap-free position and idempotency"),
    ("jobs.py", [], [], "overhead p50 < 50 ms, p95 < 150 ms; relay > 1,000 jobs/s"),
    ("read.py", ["--sizes", "10000,100000", "--samples", "20"],
     ["--sizes", "100000,1000000", "--parts", "routes,queries,replay,lag"],
     "every GET route p95 < 20 ms at 1M events, except free-text search (< 50 ms within a "
     "project, < 100 ms across a person's projects); none but free text grows more than "
     "1.5x from 100k to 1M events; projection replay > 20,000 events/s"),
    ("rebuild.py", [], [], "rebuild overhead under 10% of the recorded step times"),
    ("builtin_model.py", ["--renders", "6", "--prompts", "100"], ["--renders", "20"],
     "draft 256 px < 1 s; 2x upscale of 512 px < 10 s; held-out adherence > 90%"),
    ("gpu_families.py", ["--quick"], [],
     "every family (SD, SDXL, SD3, Flux) and LoRA rebuilds bit-exact; on a GPU (no --quick: "
     "512 px, 1024 for SDXL and Flux) the whole run under 3 minutes on an H200"),
    ("studio_pages.py", ["--events", "50000", "--live-seconds", "30"],
     ["--events", "1000000", "--backends", "sqlite,postgres", "--live-seconds", "120",
      "--day-scale", "0.05"],
     "board of 200 assets and asset page of 200 versions p95 < 100 ms at 1M events; "
     "own JS + CSS < 150 KB; a live update reaches a second page within 1 s (p95) "
     "under the studio day's load"),
    ("distributed.py", ["--scale", "0.05", "--max-seconds", "240"],
     ["--max-seconds", "2400"],
     "0 lost, 0 duplicated; reads p95 < 50 ms and writes p95 < 100 ms at the offered load"),
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu})"
            f"{memory}, Python {platform.python_version()}")


def earlier_sections(report: str) -> dict[str, str]:
    """The ``## bench/<script>`` sections of an earlier report, by script name."""
    found: dict[str, str] = {}
    parts = re.split(r"^(## bench/(\S+).*)$", report, flags=re.MULTILINE)
    for heading, script, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        found[script] = f"{heading}{body.rstrip()}\n"
    return found


def run(script: str, arguments: list[str], target: str) -> tuple[str, bool]:
    """Run one benchmark; its report section and whether it succeeded."""
    command = [sys.executable, str(ROOT / "bench" / script), *arguments]
    print("running", " ".join(command[1:]), flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - started
    output = result.stdout.strip()
    if result.returncode != 0:  # say why it stopped, not only what it printed
        output = "\n".join(part for part in (output, result.stderr.strip()[-3000:]) if part)
    section = "\n".join([
        f"## bench/{script}", "", f"Target: {target}.", "",
        f"Command: `{' '.join(['python', f'bench/{script}', *arguments])}` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s, exit {result.returncode})",
        "", "```", output, "```", ""])
    return section, result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the sizes named in the issues")
    parser.add_argument("--only", help="comma-separated script names, .py optional (the "
                                       "report keeps the other scripts' sections from its "
                                       "earlier run)")
    args = parser.parse_args()
    only = {name if name.endswith(".py") else f"{name}.py"
            for name in args.only.split(",")} if args.only else None
    report_path = ROOT / "bench" / "REPORT.md"
    earlier = earlier_sections(report_path.read_text()) if report_path.exists() else {}
    sections = [
        "# Benchmark report",
        "",
        f"Written by `{' '.join(['python bench/run_all.py', *sys.argv[1:]])}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; each section's command line says when it ran.",
        f"Machine: {machine()}.",
        "Figures are one run each; other load on the machine moves them by 10-30%.",
        "",
    ]
    failed = 0
    for script, quick, full, target in BENCHMARKS:
        if only and script not in only:
            if script in earlier:
                sections.append(earlier[script])
            continue
        section, ok = run(script, full if args.full else quick, target)
        sections.append(section)
        failed += not ok
    report_path.write_text("\n".join(sections))
    print("wrote bench/REPORT.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
