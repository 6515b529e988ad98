"""`make bench`: run every benchmark and write bench/REPORT.md.

Each script prints its own figures; this collects them beside the targets from the
issues and a description of the machine. Sizes are modest by default so the whole run
takes minutes on 2 cores; pass --full for the sizes the issues name.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (script, quick arguments, full arguments, targets from the issues)
BENCHMARKS = [
    ("store.py", ["--singles", "2000", "--batches", "200"], [],
     "at least 1.5x eventsourcing on appends, 1.0x on decoded reads"),
    ("jobs.py", [], [], "overhead p50 < 50 ms, p95 < 150 ms; relay > 1,000 jobs/s"),
    ("read.py", [], ["--events", "1000000"],
     "rebuild > 20,000 events/s; query p95 < 20 ms (search < 50 ms)"),
    ("rebuild.py", [], [], "rebuild overhead under 10% of the recorded step times"),
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the sizes named in the issues")
    parser.add_argument("--only", help="comma-separated script names")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    sections = [
        "# Benchmark report",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {machine()}.",
        "Figures are one run each; other load on the machine moves them by 10-30%.",
        "",
    ]
    failed = 0
    for script, quick, full, target in BENCHMARKS:
        path = ROOT / "bench" / script
        if (only and script not in only) or not path.exists():
            continue
        command = [sys.executable, str(path), *(full if args.full else quick)]
        print("running", " ".join(command[1:]), flush=True)
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.monotonic() - started
        failed += result.returncode != 0
        output = result.stdout.strip()
        if result.returncode != 0:  # say why it stopped, not only what it printed
            output = "\n".join(part for part in (output, result.stderr.strip()[-3000:]) if part)
        sections += [f"## bench/{script}", "", f"Target: {target}.", "",
                     f"Command: `{' '.join(['python', f'bench/{script}', *command[2:]])}` "
                     f"({seconds:.0f} s, exit {result.returncode})", "", "```", output, "```", ""]
    (ROOT / "bench" / "REPORT.md").write_text("\n".join(sections))
    print("wrote bench/REPORT.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
