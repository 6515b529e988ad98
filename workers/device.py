"""Where and how pipelines run: device, dtype and determinism, chosen by settings and
recorded in every recipe's environment (so a rebuild names the ones that differ).

- ``LINEAGE_DEVICE``: ``auto`` (default: CUDA when present, else CPU), ``cpu``, ``cuda``
  or ``cuda:N``;
- ``LINEAGE_DTYPE``: ``float32`` (default), ``float16`` or ``bfloat16``;
- ``LINEAGE_DETERMINISTIC``: ``auto`` (default: on for CUDA, where kernels may otherwise
  pick non-deterministic algorithms; CPU kernels with a fixed thread count already are
  deterministic), ``1`` or ``0``. On: ``torch.use_deterministic_algorithms(True)``, cuDNN
  deterministic without benchmarking, no TF32 matmuls, and ``CUBLAS_WORKSPACE_CONFIG``
  ``:4096:8`` unless already set (cuBLAS needs it for reproducible GEMMs).

The noise stays on a CPU generator whatever the device, so the starting latents are the
same everywhere; what the device changes is the arithmetic after that.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

import torch

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
CUBLAS_WORKSPACE = ":4096:8"

_lock = threading.Lock()
_applied: DeviceSettings | None = None


@dataclasses.dataclass(frozen=True)
class DeviceSettings:
    device: str
    dtype: str
    deterministic: bool

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]


def read_settings(environ: dict[str, str] | None = None) -> DeviceSettings:
    """The settings the variables ask for. Raises ValueError naming a bad value, or a
    CUDA device asked for where none is present."""
    env = os.environ if environ is None else environ
    device = env.get("LINEAGE_DEVICE", "").strip() or "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"LINEAGE_DEVICE must be auto, cpu, cuda or cuda:N, not {device!r}")
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"LINEAGE_DEVICE={device} but no CUDA device is present")
    dtype = env.get("LINEAGE_DTYPE", "").strip() or "float32"
    if dtype not in DTYPES:
        raise ValueError(f"LINEAGE_DTYPE must be one of {', '.join(DTYPES)}, not {dtype!r}")
    raw = env.get("LINEAGE_DETERMINISTIC", "").strip().lower() or "auto"
    if raw not in ("auto", "1", "0", "true", "false"):
        raise ValueError(f"LINEAGE_DETERMINISTIC must be auto, 1 or 0, not {raw!r}")
    deterministic = device.startswith("cuda") if raw == "auto" else raw in ("1", "true")
    return DeviceSettings(device=device, dtype=dtype, deterministic=deterministic)


def current() -> DeviceSettings:
    """Read the settings and apply the determinism switches, once per process."""
    global _applied
    with _lock:
        if _applied is None:
            settings = read_settings()
            _apply(settings)
            _applied = settings
        return _applied


def reset() -> None:
    """Forget the applied settings so the next `current()` reads them again (tests,
    benchmarks; pipelines.clear_cache() must go with it)."""
    global _applied
    with _lock:
        _applied = None


def _apply(settings: DeviceSettings) -> None:
    if settings.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(settings.deterministic)
    torch.backends.cudnn.deterministic = settings.deterministic
    torch.backends.cudnn.benchmark = not settings.deterministic and \
        settings.device.startswith("cuda")
    if settings.deterministic:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def fingerprint() -> dict[str, Any]:
    """The device part of a recipe's environment (applies the settings first)."""
    settings = current()
    result: dict[str, Any] = {
        "device": settings.device,
        "dtype": settings.dtype,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
    }
    if settings.device.startswith("cuda"):
        index = torch.device(settings.device).index or 0
        major, minor = torch.cuda.get_device_capability(index)
        result.update({
            "gpu": torch.cuda.get_device_name(index),
            "gpu_capability": f"{major}.{minor}",
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "cuda_matmul_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn_tf32": bool(torch.backends.cudnn.allow_tf32),
            "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        })
    return result
