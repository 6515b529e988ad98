"""The software/hardware fingerprint recorded with every generated image.

Byte-identical rebuilds are only promised within one environment; when a rebuild gives
different bytes, `diff_environments` says what changed since the recipe was recorded.
"""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata
from typing import Any

import torch
from PIL import features

from workers import device

_PACKAGES = {
    "torch": "torch",
    "diffusers": "diffusers",
    "transformers": "transformers",
    "peft": "peft",
    "pillow": "Pillow",
    "numpy": "numpy",
    "safetensors": "safetensors",
}


def fingerprint(threads: int | None = None) -> dict[str, Any]:
    """Return the current environment as a flat dict of JSON primitives.

    Takes the torch intra-op thread count to record (default: torch's current setting).
    Keys: python, platform, machine, one per library version, zlib, device, dtype,
    torch_threads, cpu_capability, deterministic_algorithms, cudnn_deterministic,
    cudnn_benchmark, and on CUDA gpu, gpu_capability, cuda, cudnn, cuda_matmul_tf32,
    cudnn_tf32 and cublas_workspace_config (workers/device.py).
    """
    result = dict(_static_fingerprint())
    result.update(
        {
            "torch_threads": torch.get_num_threads() if threads is None else int(threads),
            # The SIMD level torch dispatches to on this CPU; float results can differ
            # in the last bits between AVX2 and AVX-512 kernels.
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        }
    )
    # device, dtype, the determinism switches and, on CUDA, the GPU and its libraries.
    result.update(device.fingerprint())
    return result


@functools.cache
def _static_fingerprint() -> tuple[tuple[str, Any], ...]:
    """What cannot change while a process runs (package metadata lookups cost ~36 ms a
    job, so they are read once per process)."""
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": sys.platform,
        "machine": platform.machine(),
    }
    for key, dist in _PACKAGES.items():
        result[key] = _version(dist)
    # PNG bytes depend on the zlib Pillow compresses with, not only on Pillow's version.
    result["zlib"] = features.version("zlib")
    return tuple(result.items())


def diff_environments(recorded: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """List every key whose value differs between two fingerprints.

    Takes the recorded and the current fingerprint; returns ``[{key, recorded, current}]``
    sorted by key, with None standing for a key one side lacks. Empty when they match.
    """
    return [
        {"key": key, "recorded": recorded.get(key), "current": current.get(key)}
        for key in sorted(set(recorded) | set(current))
        if recorded.get(key) != current.get(key)
    ]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
