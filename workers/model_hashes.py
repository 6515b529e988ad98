"""Which local model, if any, has the weights a hash names.

Other tools identify a checkpoint by the SHA-256 of its file, printed in full or short:
AUTOMATIC1111's ``Model hash`` is the first 10 hex digits (its older "legacy" hash is 8
hex digits of the SHA-256 over 64 KiB read at offset 1 MiB), LoRA hashes the first 12.
Lineage identifies a model folder by `models.weights_hash`, whose first 10 hex digits it
writes as ``Model hash`` when it exports a recipe in A1111 layout.

`find_model_by_hash` looks through the models this worker can run today (every model spec
configured by LINEAGE_MODEL_* and the default, then every model in the registry view of
workers/model_registry.py; hosted specs are skipped) and matches a hash against each
one's folder hash and, for a single-file checkpoint kept at the top of its folder (the
file it was converted from), that file's hashes; a registered single-file checkpoint is
matched by its own file's hashes.

`registered_adapters` lists the registered LoRA adapters with the hashes tools print for
them: the file's SHA-256, kohya's "addnet" hash (SHA-256 of the tensor data after the
safetensors header, which A1111 prints as ``Lora hashes``) and ``sshs_model_hash`` from
the file's metadata when present.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from pathlib import Path

from interchange.rerender_loras import AdapterRef
from workers import model_registry, models, pipelines
from workers.hosted.provider import is_hosted
from workers.model_files import NotAModel, file_sha256, safetensors_metadata

SPEC_VARIABLES = ("LINEAGE_MODEL_DRAFT", "LINEAGE_MODEL_FINAL", "LINEAGE_MODEL_INPAINT",
                  "LINEAGE_MODEL_UPSCALE", "LINEAGE_MODEL_DEFAULT")
CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")
_LEGACY_OFFSET, _LEGACY_LENGTH = 0x100000, 0x10000

_cache: dict[tuple, dict[str, str]] = {}
_cache_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class ModelMatch:
    """A local model whose weights a hash names: its spec, the folder it loads from,
    Lineage's weights hash of that folder, and how the hash matched."""

    spec: str
    folder: Path
    weights_hash: str
    matched: str


def candidate_specs() -> list[str]:
    """The local model specs this worker is configured to run, each once."""
    specs = [os.environ.get(name, "").strip() for name in SPEC_VARIABLES]
    specs.append(pipelines.default_spec())
    registry = model_registry.view()
    if registry is not None:
        specs.extend(entry.event.spec for entry in registry.entries.values()
                     if entry.event.kind == "pipeline")
    seen: list[str] = []
    for spec in specs:
        if spec and not is_hosted(spec) and spec not in seen:
            seen.append(spec)
    return seen


def find_model_by_hash(value: str) -> ModelMatch | None:
    """The local text-to-image model whose weights ``value`` names, or None.

    ``value`` is a SHA-256 in hex, full (64) or short: 10 or 12 leading digits, or
    A1111's 8-digit legacy hash; a ``sha256:`` prefix and case are ignored. Hub ids and
    unbuilt models are not candidates (nothing is downloaded or built to answer).
    """
    wanted = value.strip().lower().removeprefix("sha256:")
    if len(wanted) not in (8, 10, 12, 64):
        return None
    for spec in candidate_specs():
        folder = _local_folder(spec)
        if folder is None:
            continue
        config = pipelines.single_file_config(spec) if folder.is_file() else None
        hashes = model_hashes(folder, config)
        for how, known in hashes.items():
            if _matches(wanted, how, known):
                return ModelMatch(spec, folder, hashes.get("folder") or hashes["weights"], how)
    return None


def model_hashes(folder: Path, config: Path | None = None) -> dict[str, str]:
    """{"folder": weights hash, "checkpoint:<name>": sha256, "legacy:<name>": 8 hex} of a
    diffusers folder; of a single-file checkpoint (loaded with ``config``), "weights" (the
    hash recipes record) and its own checkpoint and legacy hashes.

    Cached per process by the files' sizes and modification times.
    """
    checkpoints = [folder] if folder.is_file() else sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix in CHECKPOINT_SUFFIXES)
    key = (str(folder.resolve()), str(config),
           *((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in checkpoints))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    hashes = ({"weights": models.single_file_weights_hash(folder, config)} if folder.is_file()
              else {"folder": models.weights_hash(folder)})
    for path in checkpoints:
        hashes[f"checkpoint:{path.name}"] = file_sha256(path)
        hashes[f"legacy:{path.name}"] = _legacy_hash(path)
    with _cache_lock:
        _cache[key] = hashes
    return hashes


def _matches(wanted: str, how: str, known: str) -> bool:
    if how.startswith("legacy:"):
        return len(wanted) == 8 and wanted == known
    return wanted == known if len(wanted) == 64 else (len(wanted) in (10, 12)
                                                      and known.startswith(wanted))


def _local_folder(spec: str) -> Path | None:
    if spec == models.BUILTIN_TINY or spec in models.TINY_FAMILY_SPECS:
        family = models.TINY_FAMILY_SPECS.get(spec, "txt2img")
        folder = models.builtin_dir(pipelines.data_dir(), family)
        return folder if (folder / "model_index.json").is_file() else None
    if Path(spec).expanduser().suffix in CHECKPOINT_SUFFIXES:
        path = Path(spec).expanduser()
        return path if path.is_file() else None
    try:
        folder = models.resolve_local(spec, pipelines.data_dir(), "txt2img")
    except ValueError:
        return None
    return folder if folder is not None and folder.is_dir() else None


def registered_adapters() -> list[AdapterRef]:
    """The LoRA adapters in this worker's registry view, with the hashes of their files
    (files gone from disk keep only the SHA-256 they were registered with)."""
    registry = model_registry.view()
    if registry is None:
        return []
    refs = []
    for entry in sorted(registry.entries.values(), key=lambda e: e.event.name):
        event = entry.event
        if event.kind != "lora":
            continue
        path = Path(event.path)
        extra = _adapter_hashes(path) if path.is_file() else ()
        refs.append(AdapterRef(event.name, path.name, event.weights_hash,
                               (event.weights_hash, *extra)))
    return refs


def _adapter_hashes(path: Path) -> tuple[str, ...]:
    stat = path.stat()
    key = ("adapter", str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        if key in _cache:
            return tuple(_cache[key].values())
    hashes = {"addnet": _addnet_hash(path)}
    try:
        embedded = safetensors_metadata(path).get("sshs_model_hash")
    except NotAModel:  # a .pt/.ckpt adapter: no header to read
        embedded = None
    if isinstance(embedded, str) and embedded.strip():
        hashes["metadata"] = embedded.strip().lower()
    with _cache_lock:
        _cache[key] = hashes
    return tuple(hashes.values())


def _addnet_hash(path: Path) -> str:
    """kohya-ss's hash of a safetensors file: SHA-256 of everything after the header."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        header = int.from_bytes(handle.read(8), "little")
        handle.seek(8 + header)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _legacy_hash(path: Path) -> str:
    """A1111's legacy model hash: SHA-256 of 64 KiB at offset 1 MiB, 8 hex digits."""
    with open(path, "rb") as handle:
        handle.seek(_LEGACY_OFFSET)
        return hashlib.sha256(handle.read(_LEGACY_LENGTH)).hexdigest()[:8]
