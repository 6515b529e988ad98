"""Per-process cache of diffusers pipelines, and the per-call copies that run them.

Loading a pipeline is slow, so each (kind, model spec, data dir) is loaded once per
process behind a lock. The cached pipeline is never run directly: `pipeline_for_call`
makes a cheap copy that shares the weights but owns a fresh scheduler built from the
recipe, so no call's scheduler choice leaks into the next. Runs on the same weights
still take turns (`run_lock`): the tokenizer they share is not safe to use concurrently.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from workers import device, model_registry, models
from workers.model_files import checkpoint_family, family_of_class
from workers.models import ModelUnavailable

log = logging.getLogger(__name__)

KINDS = ("txt2img", "img2img", "inpaint", "upscale")
DEFAULT_SPEC = models.BUILTIN_SKETCH
UPSCALE_BY_DIFFUSION = "diffusion"  # a dedicated upscaling pipeline (x4 upscaler)
UPSCALE_BY_IMG2IMG = "lanczos+img2img"  # resize, then a low-strength img2img pass

# Which env var picks the model for an operation; generate/img2img use the tier's model.
_TIER_ENV = {"draft": "LINEAGE_MODEL_DRAFT", "final": "LINEAGE_MODEL_FINAL"}
_OPERATION_ENV = {
    "inpaint": "LINEAGE_MODEL_INPAINT",
    "outpaint": "LINEAGE_MODEL_INPAINT",
    "upscale": "LINEAGE_MODEL_UPSCALE",
}
_REGISTRY_TIER = {"inpaint": "inpaint", "outpaint": "inpaint", "upscale": "upscale"}
_FAMILY = {"txt2img": "txt2img", "img2img": "txt2img", "inpaint": "inpaint", "upscale": "upscale"}

_cache: dict[tuple[str, ...], tuple[Any, dict[str, str]]] = {}
# Re-entrant: loading img2img fetches the cached txt2img pipeline under the same lock.
_cache_lock = threading.RLock()
# One lock per loaded set of weights, held while a pipeline runs. Runs that share
# components cannot overlap: the fast tokenizer keeps its padding/truncation settings in
# shared state that each call rewrites, so two concurrent prompts can get each other's
# padding (seen as a wrong-length embedding or silently different pixels).
_run_locks: dict[tuple[str, str, str], threading.Lock] = {}
_threads_lock = threading.Lock()
_threads: int | None = None


def data_dir() -> Path:
    """Return the data folder from LINEAGE_DATA_DIR (default ./var)."""
    return Path(os.environ.get("LINEAGE_DATA_DIR", "./var"))


def default_spec() -> str:
    """The model of every tier whose own variable is unset: LINEAGE_MODEL_DEFAULT, else
    the trained built-in model "builtin:sketch"."""
    return os.environ.get("LINEAGE_MODEL_DEFAULT", "").strip() or DEFAULT_SPEC


def model_spec_for(operation: str, tier: str) -> str:
    """Return the model spec configured for an operation and tier.

    In order: the operation's variable (inpaint/outpaint read LINEAGE_MODEL_INPAINT,
    upscale LINEAGE_MODEL_UPSCALE, everything else LINEAGE_MODEL_DRAFT or _FINAL by
    tier); the registry's model for the operation's tier (inpaint, upscale) and then for
    the job's tier (draft, final); `default_spec()`. Raises ValueError for an unknown tier.
    """
    if tier not in _TIER_ENV:
        raise ValueError(f"unknown tier {tier!r}; expected draft or final")
    env = _OPERATION_ENV.get(operation, _TIER_ENV[tier])
    explicit = os.environ.get(env, "").strip()
    if explicit:
        return explicit
    for registry_tier in (_REGISTRY_TIER.get(operation, tier), tier):
        entry = model_registry.tier_model(registry_tier)
        if entry is not None:
            return entry.spec
    return default_spec()


def upscale_method(spec: str) -> str:
    """How a model upscales: by its own upscaling pipeline, or by resize plus img2img.

    builtin:tiny has an x4 upscaler; builtin:sketch and local text-to-image folders use
    resize + img2img (the "SD upscale" technique); hub ids are taken to be upscalers.
    """
    if spec == models.BUILTIN_TINY:
        return UPSCALE_BY_DIFFUSION
    if Path(spec).expanduser().is_file():
        return UPSCALE_BY_IMG2IMG  # a single-file checkpoint is a text-to-image model
    local = models.resolve_local(spec, data_dir(), "upscale")
    if local is None or models.is_upscaler(local):
        return UPSCALE_BY_DIFFUSION
    return UPSCALE_BY_IMG2IMG


def kind_for(operation: str) -> str:
    """Return the pipeline kind that runs a diffusion operation (ValueError otherwise)."""
    kinds = {
        "generate": "txt2img",
        "img2img": "img2img",
        "inpaint": "inpaint",
        "outpaint": "inpaint",
        "upscale": "upscale",
    }
    if operation not in kinds:
        raise ValueError(f"operation {operation!r} does not run a diffusion pipeline")
    return kinds[operation]


def torch_threads() -> int:
    """Apply LINEAGE_TORCH_THREADS (default 1) to torch once per process; return it.

    One thread by default because float reductions can be split differently with more
    threads, and the count is part of what makes a result reproducible.
    """
    global _threads
    with _threads_lock:
        if _threads is None:
            raw = os.environ.get("LINEAGE_TORCH_THREADS", "1")
            try:
                wanted = int(raw)
            except ValueError:
                raise ValueError(f"LINEAGE_TORCH_THREADS must be an integer, not {raw!r}") from None
            if wanted < 1:
                raise ValueError(f"LINEAGE_TORCH_THREADS must be at least 1, not {wanted}")
            torch.set_num_threads(wanted)
            _threads = wanted
        return _threads


def get_pipeline(kind: str, spec: str) -> tuple[Any, dict[str, str]]:
    """Return the cached (pipeline, model_info) for `kind` and model `spec`, loading once
    (on the device and in the dtype of workers/device.py's settings).

    model_info is {"model_id": spec, "weights_hash": sha256 of the weight files}.
    Raises ValueError for an unknown kind and ModelUnavailable when the model cannot be
    loaded (missing folder, unreachable hub, broken files).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown pipeline kind {kind!r}; expected one of {KINDS}")
    torch_threads()
    try:
        settings = device.current()
    except ValueError as exc:
        raise ModelUnavailable(f"model {spec!r} cannot run here: {exc}", model_id=spec) from exc
    key = (kind, spec, str(data_dir().resolve()), settings.device, settings.dtype)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(kind, spec)
        return _cache[key]


def run_lock(kind: str, spec: str) -> threading.Lock:
    """Return the lock to hold while running a pipeline of `kind` and `spec`.

    img2img and txt2img share weights and tokenizer, hence one lock.
    """
    key = (_FAMILY[kind], spec, str(data_dir().resolve()))
    with _cache_lock:
        return _run_locks.setdefault(key, threading.Lock())


def pipeline_for_call(pipe: Any, scheduler: Any) -> Any:
    """Return a copy of `pipe` sharing its weights but running `scheduler`.

    Built with the pipeline class's own constructor (components plus config options such
    as max_noise_level) rather than `from_pipe`, which also re-casts the shared modules.
    """
    cls = type(pipe)
    params = inspect.signature(cls.__init__).parameters
    kwargs = {name: module for name, module in pipe.components.items() if name in params}
    kwargs["scheduler"] = scheduler
    for name in params:
        if name not in kwargs and name != "self" and name in pipe.config:
            kwargs[name] = pipe.config[name]
    call_pipe = cls(**kwargs)
    call_pipe.set_progress_bar_config(disable=True)
    return call_pipe


def make_scheduler(pipe: Any, name: str | None, config: dict[str, Any] | None) -> Any:
    """Build a fresh scheduler: class `name` (default the pipeline's) from `config`.

    `config` (a recorded scheduler config) wins over the pipeline's own, so a rebuild
    runs exactly the recorded schedule. Raises ValueError for an unknown or incompatible
    scheduler class.
    """
    import diffusers

    base = type(pipe.scheduler)
    name = name or base.__name__
    allowed = {cls.__name__: cls for cls in [base, *getattr(pipe.scheduler, "compatibles", [])]}
    cls = allowed.get(name)
    if cls is None:
        candidate = getattr(diffusers, name, None)
        known = isinstance(candidate, type) and issubclass(candidate, diffusers.SchedulerMixin)
        reason = "is not compatible with this pipeline" if known else "is not a diffusers scheduler"
        raise ValueError(f"scheduler {name!r} {reason}; choose one of {', '.join(sorted(allowed))}")
    return cls.from_config(config if config is not None else pipe.scheduler.config)


def progress_args(pipe: Any, progress: Callable[[int, int], None] | None) -> dict[str, Any]:
    """Map our (done, total) callback onto whichever callback style the pipeline has."""
    if progress is None:
        return {}
    params = inspect.signature(pipe.__call__).parameters
    if "callback_on_step_end" in params:

        def on_step_end(p: Any, i: int, t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            progress(i + 1, int(p.num_timesteps))
            return kwargs

        return {"callback_on_step_end": on_step_end}

    def on_step(i: int, t: Any, latents: Any) -> None:  # legacy style (the upscaler)
        progress(i + 1, len(pipe.scheduler.timesteps))

    return {"callback": on_step, "callback_steps": 1}


def clear_cache() -> None:
    """Forget every loaded pipeline and weights hash (tests; a worker never needs this).

    Both together: a reloaded folder whose weights changed must not keep its old hash.
    The device settings are read again too.
    """
    device.reset()
    with _cache_lock:
        _cache.clear()
        _hashes.clear()
        models._declared_defaults.cache_clear()


def _load(kind: str, spec: str) -> tuple[Any, dict[str, str]]:
    from diffusers import (
        AutoPipelineForImage2Image,
        AutoPipelineForInpainting,
        AutoPipelineForText2Image,
        DiffusionPipeline,
    )

    family = _FAMILY[kind]
    models.quiet_progress_bars()
    if kind == "img2img":
        # img2img shares the text-to-image weights instead of loading them twice.
        base, info = get_pipeline("txt2img", spec)
        pipe = AutoPipelineForImage2Image.from_pipe(base, dtype=base.dtype)
        pipe.set_progress_bar_config(disable=True)
        return pipe, info
    loader = {
        "txt2img": AutoPipelineForText2Image,
        "inpaint": AutoPipelineForInpainting,
        "upscale": DiffusionPipeline,
    }[kind]
    try:
        local = models.resolve_local(spec, data_dir(), family)
        # low_cpu_mem_usage=False: the plain loading path, the same with or without
        # `accelerate` (installed only as a dependency of peft).
        settings = device.current()
        options: dict[str, Any] = {"low_cpu_mem_usage": False, "dtype": settings.torch_dtype}
        if _has_safety_checker(local):
            options["safety_checker"] = None
            if kind != "upscale":  # the upscaler takes no such argument
                options["requires_safety_checker"] = False
        if local is not None:
            pipe = loader.from_pretrained(local, local_files_only=True, **options)
            weights = _weights_hash(local)
        elif Path(spec).expanduser().is_file():
            single = Path(spec).expanduser()
            config = single_file_config(spec)
            pipe = _load_single_file(kind, single, config, settings.torch_dtype)
            weights = _weights_hash(single, config)
        else:
            pipe = loader.from_pretrained(spec, **options)
            weights = _weights_hash(models.hub_snapshot(spec))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"model {spec!r} for {kind} could not be loaded: {exc}", model_id=spec
        ) from exc
    if settings.device != "cpu":  # loaded on the CPU; a no-op move still warns
        pipe.to(settings.device)
    pipe.set_progress_bar_config(disable=True)
    _log_load(kind, spec, weights)
    return pipe, {"model_id": spec, "weights_hash": weights}


_SINGLE_FILE_CLASSES = {
    "sd": ("StableDiffusionPipeline", "StableDiffusionInpaintPipeline"),
    "sdxl": ("StableDiffusionXLPipeline", "StableDiffusionXLInpaintPipeline"),
    "sd3": ("StableDiffusion3Pipeline", "StableDiffusion3InpaintPipeline"),
    "flux": ("FluxPipeline", "FluxInpaintPipeline"),
}


def single_file_config(spec: str) -> Path | None:
    """The diffusers folder a registered single-file checkpoint loads its configuration
    from (``lineage models add NAME FILE --config DIR``); None when none is registered."""
    entry = model_registry.entry_for_spec(str(Path(spec).expanduser().resolve()))
    if entry is None:
        entry = model_registry.entry_for_spec(spec)
    return Path(entry.config) if entry is not None and entry.config else None


def _load_single_file(kind: str, path: Path, config: Path | None,
                      dtype: Any) -> Any:  # noqa: ANN401
    """A single-file checkpoint through its family's ``from_single_file``, configured by
    the local diffusers folder ``config``. Without one diffusers would download the
    family's configuration, so it is refused with what to do instead (ValueError)."""
    import diffusers

    family = checkpoint_family(path)
    if family == "other" and config is not None:
        family = family_of_class(json.loads((config / "model_index.json").read_text())
                                 .get("_class_name", ""))
    if family not in _SINGLE_FILE_CLASSES:
        raise ValueError(f"{path.name} is not a checkpoint of a family Lineage runs "
                         f"({', '.join(_SINGLE_FILE_CLASSES)}); convert it to a diffusers folder")
    if config is None:
        raise ValueError(f"{path.name} is a single-file {family} checkpoint and diffusers "
                         "needs the configuration of its family to load it; register it "
                         f"with `lineage models add NAME {path} --config DIR`, DIR a local "
                         f"diffusers folder of a {family} model")
    if not (config / "model_index.json").is_file():
        raise ValueError(f"the configuration folder {config} of {path.name} is gone or is "
                         "no diffusers folder")
    text_to_image, inpaint = _SINGLE_FILE_CLASSES[family]
    cls = getattr(diffusers, inpaint if kind == "inpaint" else text_to_image)
    options: dict[str, Any] = {"config": str(config), "local_files_only": True, "dtype": dtype}
    if family == "sd":
        options.update(safety_checker=None, requires_safety_checker=False)
    try:
        return cls.from_single_file(str(path), **options)
    except Exception as exc:  # noqa: BLE001 - a damaged or unusual file fails anywhere inside
        raise ValueError(f"diffusers could not load {path.name} as a {family} checkpoint "
                         f"with the configuration of {config} ({type(exc).__name__}: "
                         f"{exc})") from exc


def _has_safety_checker(local: Path | None) -> bool:
    """Whether the pipeline has a safety checker to turn off (SD 1.x/2.x; SDXL, SD3 and
    Flux have none). Hub ids are taken to be SD-shaped."""
    if local is None or not (local / "model_index.json").is_file():
        return True
    index = json.loads((local / "model_index.json").read_text())
    family = family_of_class(str(index.get("_class_name", "")))
    return "safety_checker" in index or family in ("sd", "sd-upscale")


def _log_load(kind: str, spec: str, weights: str) -> None:
    """Log a load with its registry entry; warn when the weights are not the registered
    ones (the files changed since `lineage models add`)."""
    entry = model_registry.entry_for_spec(spec)
    if entry is None:
        log.info("loaded %s model %s (not registered; weights %s)", kind, spec, weights[:16])
    elif entry.weights_hash != weights:
        log.warning("loaded %s model %s (registry entry %r) with weights %s, but it was "
                    "registered with %s: the files changed; `lineage models add %s %s` "
                    "records the new weights", kind, spec, entry.name, weights,
                    entry.weights_hash, entry.name, spec)
    else:
        log.info("loaded %s model %s (registry entry %r, weights %s)", kind, spec,
                 entry.name, weights[:16])


_hashes: dict[str, str] = {}


def _weights_hash(path: Path, config: Path | None = None) -> str:
    # Real models are gigabytes; txt2img, inpaint and upscale often name the same folder,
    # so hash each folder once per process (called under _cache_lock).
    key = f"{path.resolve()}|{config}"
    if key not in _hashes:
        _hashes[key] = models.single_file_weights_hash(path, config) if config else \
            models.weights_hash(path)
    return _hashes[key]
