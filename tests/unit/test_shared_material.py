"""A clone without ../shared beside it still runs the suite: the tests that read the
shared material skip with the reason, and fail under CI=true (CI has it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_corpus_tests(tmp_path: Path, ci: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINEAGE_TEST_SHARED_DIR": str(tmp_path / "no-shared-here"), "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/unit/test_png_metadata.py", "-k", "corpus or manifest or hostile_settings"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_shared_material_its_tests_skip_with_the_reason(tmp_path):
    result = run_corpus_tests(tmp_path, ci="")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" in result.stdout and "passed" in result.stdout
    assert "import-corpus is missing" in result.stdout
    assert "error" not in result.stdout.lower()


def test_without_shared_material_ci_fails(tmp_path):
    result = run_corpus_tests(tmp_path, ci="true")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout and "import-corpus is missing" in result.stdout
