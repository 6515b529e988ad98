"""The environment fingerprint recorded with every image, and how two are compared."""

from __future__ import annotations

import json
import platform

import torch

from workers.environment import diff_environments, fingerprint


def test_fingerprint_names_versions_device_and_determinism_flags() -> None:
    env = fingerprint()
    assert env["python"] == platform.python_version()
    assert env["torch"].startswith(torch.__version__.split("+")[0])
    for key in ("diffusers", "transformers", "pillow", "numpy", "zlib", "cpu_capability"):
        assert isinstance(env[key], str) and env[key], key
    assert env["device"] == "cpu" and env["dtype"] == "float32"
    assert env["torch_threads"] == torch.get_num_threads()
    assert env["deterministic_algorithms"] is torch.are_deterministic_algorithms_enabled()
    assert json.loads(json.dumps(env)) == env


def test_fingerprint_records_the_given_thread_count() -> None:
    assert fingerprint(threads=3)["torch_threads"] == 3


def test_identical_environments_have_no_differences() -> None:
    assert diff_environments(fingerprint(), fingerprint()) == []


def test_differences_are_listed_by_key_with_both_values() -> None:
    recorded = {"torch": "2.3.0", "diffusers": "0.30.0", "device": "cpu", "old_key": 1}
    current = {"torch": "2.4.0", "diffusers": "0.30.0", "device": "cpu", "new_key": 2}
    assert diff_environments(recorded, current) == [
        {"key": "new_key", "recorded": None, "current": 2},
        {"key": "old_key", "recorded": 1, "current": None},
        {"key": "torch", "recorded": "2.3.0", "current": "2.4.0"},
    ]
