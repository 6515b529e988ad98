"""What a person sees when they start Lineage: help written for them, no library noise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*code_or_args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_lineage_help_speaks_to_users():
    result = run("-m", "app.cli", "--help")

    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "lineage serve" in text and "/api/docs" in text and "lineage demo" in text
    assert "who approved" in text
    # No developer notes: module docstrings, reST markup, internal function names.
    assert "``" not in text and "register" not in text and "{serve," not in text


def test_loading_the_model_libraries_prints_no_torchvision_warnings():
    result = run("-c", "from app.cli import silence_library_noise; silence_library_noise(); "
                       "from diffusers import StableDiffusionPipeline; "
                       "import transformers; transformers.CLIPImageProcessor; print('loaded')")

    assert result.returncode == 0 and "loaded" in result.stdout, result.stderr
    assert "torchvision" not in result.stderr, result.stderr
