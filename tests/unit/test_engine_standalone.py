"""The engine and bench/gpu_families.py run with only the model libraries: a GPU machine
needs torch, diffusers, transformers and peft, not the database or web layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_imports_no_database_broker_or_web_layer() -> None:
    code = ("import sys, workers.operations, workers.device, workers.builtin.tiny_lora, "
            "commands.model_catalog; print(sorted(m for m in ('sqlalchemy', 'flask', "
            "'marshmallow', 'dramatiq', 'pika', 'psycopg') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_gpu_bench_runs_a_family_quickly_on_a_cpu(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "bench/gpu_families.py", "--quick", "--families", "sd3,flux"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "LINEAGE_DATA_DIR": str(tmp_path),
             "LINEAGE_DEVICE": "cpu"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all rebuilds bit-exact" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith(("sd3", "flux"))]
    assert len(rows) == 2 and all("NO" not in row for row in rows)
    assert "lora:yes" in rows[1]
