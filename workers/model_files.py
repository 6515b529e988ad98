"""Inspect a model on disk for the registry: its family, pipeline class, components and
the SHA-256 of every weight file. No torch: only JSON and safetensors headers are read.

What can be registered:

- a diffusers folder (``model_index.json``), or a ``builtin:…`` spec (its folder);
- a single-file checkpoint (``.safetensors``/``.ckpt``): the family is told by its keys;
  ``config`` names the local diffusers folder of the same family that diffusers reads
  its configuration (and any component the file lacks) from, since it would otherwise
  download one;
- a LoRA adapter: a ``.safetensors`` file (or a folder holding one) whose tensor names
  carry ``lora``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from workers import models

_FAMILY_PREFIXES = (
    ("StableDiffusionXL", "sdxl"),
    ("StableDiffusion3", "sd3"),
    ("Flux", "flux"),
    ("StableDiffusionUpscale", "sd-upscale"),
    ("StableDiffusion", "sd"),
)
RUNNABLE_FAMILIES = ("sd", "sd-upscale", "sdxl", "sd3", "flux")
"""Families Lineage generates and edits with (the tiny built-ins prove each on CPU)."""
# Tensor-name marks of the original (non-diffusers) single-file layouts.
_CHECKPOINT_MARKS = (
    ("double_blocks.", "flux"),
    ("joint_blocks.", "sd3"),
    ("conditioner.embedders.1", "sdxl"),
    ("model.diffusion_model.input_blocks", "sd"),
)
_TIER_FOLDER = {"inpaint": "inpaint", "upscale": "upscale"}


class NotAModel(ValueError):
    """The path holds nothing the registry can record."""


def family_of_class(class_name: str) -> str:
    """The family of a diffusers pipeline class name (``other`` when none fits)."""
    for prefix, family in _FAMILY_PREFIXES:
        if class_name.startswith(prefix):
            return family
    return "other"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_model(spec: str, data_dir: Path, tier: str | None = None,
                  config: str | None = None) -> dict[str, Any]:
    """Inspect what ``spec`` (a path or ``builtin:…``) names; return the registry's record:
    kind, spec, path, family, pipeline_class, components, files {relative path: sha256},
    weights_hash (the hash recipes record, over the whole folder), config.

    ``tier`` picks the folder of a multi-folder built-in (inpaint, upscale); ``config``
    is the diffusers folder a single-file checkpoint loads with. Raises NotAModel for a
    path that is missing or holds no model, and for a ``config`` that is not a diffusers
    folder of the checkpoint's family (or is given for anything but a checkpoint).
    """
    if config is not None:
        path = Path(spec).expanduser()
        if not (path.is_file() and path.suffix in (".safetensors", ".ckpt")) or \
                (path.suffix == ".safetensors" and _is_lora(path)):
            raise NotAModel("--config applies to a single-file checkpoint (.safetensors or "
                            f".ckpt); {spec} is not one")
        return _inspect_checkpoint(path.resolve(), _config_folder(config))
    if spec.startswith("builtin:"):
        folder = models.resolve_local(spec, Path(data_dir), _TIER_FOLDER.get(tier or "", "txt2img"))
        assert folder is not None
        return _inspect_folder(folder, spec)
    path = Path(spec).expanduser().resolve()
    if path.is_dir():
        if (path / "model_index.json").is_file():
            return _inspect_folder(path, str(path))
        adapters = sorted(path.glob("*.safetensors"))
        if len(adapters) == 1 and _is_lora(adapters[0]):
            return _inspect_lora(adapters[0])
        raise NotAModel(f"{path} is not a diffusers folder (no model_index.json) nor a "
                        "folder holding one LoRA .safetensors file")
    if path.is_file():
        if path.suffix == ".safetensors" and _is_lora(path):
            return _inspect_lora(path)
        if path.suffix in (".safetensors", ".ckpt"):
            return _inspect_checkpoint(path)
        raise NotAModel(f"{path} is not a .safetensors or .ckpt file")
    raise NotAModel(f"{spec} does not exist")


def _inspect_folder(folder: Path, spec: str) -> dict[str, Any]:
    index = json.loads((folder / "model_index.json").read_text())
    class_name = _class_name(folder)
    components = sorted(name for name, value in index.items()
                        if not name.startswith("_") and isinstance(value, list)
                        and value and value[0] is not None)
    files = {rel: file_sha256(folder / rel) for rel in _weight_files(folder)}
    if not files:
        raise NotAModel(f"{folder} holds no weight files")
    return {"kind": "pipeline", "spec": spec, "path": str(folder), "family":
            family_of_class(class_name), "pipeline_class": class_name,
            "components": components, "files": files,
            "weights_hash": models.weights_hash(folder)}


def _weight_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.suffix in models.WEIGHT_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def safetensors_keys(path: Path) -> list[str]:
    """Tensor names from a safetensors header (8-byte length, then JSON)."""
    return [key for key in _safetensors_header(path) if key != "__metadata__"]


def safetensors_metadata(path: Path) -> dict[str, Any]:
    """The ``__metadata__`` of a safetensors header ({} when none)."""
    metadata = _safetensors_header(path).get("__metadata__")
    return metadata if isinstance(metadata, dict) else {}


def _safetensors_header(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise NotAModel(f"{path} is not a safetensors file")
        (length,) = struct.unpack("<Q", head)
        if length > 100_000_000:
            raise NotAModel(f"{path} has an implausible safetensors header")
        try:
            header = json.loads(handle.read(length))
        except ValueError as exc:
            raise NotAModel(f"{path} is not a safetensors file: {exc}") from None
    if not isinstance(header, dict):
        raise NotAModel(f"{path} is not a safetensors file")
    return header


def _is_lora(path: Path) -> bool:
    return any("lora" in key.lower() for key in safetensors_keys(path))


def lora_family(keys: list[str]) -> str:
    """Which family a LoRA's tensor names fit (advisory: the base model decides)."""
    joined = "\n".join(keys)
    if "single_transformer_blocks" in joined:
        return "flux"
    if "transformer." in joined:
        return "sd3"
    if "text_encoder_2" in joined or "add_embedding" in joined:
        return "sdxl"
    return "sd"


def _inspect_lora(path: Path) -> dict[str, Any]:
    digest = file_sha256(path)
    keys = safetensors_keys(path)
    modules = sorted({key.split(".", 1)[0] for key in keys})
    return {"kind": "lora", "spec": str(path), "path": str(path), "family": lora_family(keys),
            "pipeline_class": "", "components": modules, "files": {path.name: digest},
            "weights_hash": digest}


def checkpoint_family(path: Path) -> str:
    """The family of a single-file checkpoint, told by its tensor names (``other`` when
    they fit none, or for a pickled ``.ckpt`` whose names cannot be read safely)."""
    if path.suffix != ".safetensors":
        return "other"
    joined = "\n".join(safetensors_keys(path))
    return next((f for mark, f in _CHECKPOINT_MARKS if mark in joined), "other")


def _inspect_checkpoint(path: Path, config: Path | None = None) -> dict[str, Any]:
    family = checkpoint_family(path)
    files = {path.name: file_sha256(path)}
    components: list[str] = []
    if config is not None:
        described = _inspect_folder(config, str(config)) if _weight_files(config) else None
        config_family = family_of_class(_class_name(config))
        if family not in ("other", config_family):
            raise NotAModel(f"{path.name} is a {family} checkpoint but {config} holds a "
                            f"{config_family} model ({_class_name(config)}); --config must "
                            "name a diffusers folder of the same family")
        family = config_family
        if described is not None:
            components = described["components"]
            files.update({f"config/{rel}": digest for rel, digest in described["files"].items()})
    return {"kind": "pipeline", "spec": str(path), "path": str(path), "family": family,
            "pipeline_class": "single-file checkpoint", "components": components,
            "files": files, "weights_hash": models.single_file_weights_hash(path, config),
            "config": str(config) if config is not None else None}


def _config_folder(config: str) -> Path:
    folder = Path(config).expanduser().resolve()
    if not (folder / "model_index.json").is_file():
        raise NotAModel(f"--config {config} is not a diffusers folder (no model_index.json)")
    return folder


def _class_name(folder: Path) -> str:
    return str(json.loads((folder / "model_index.json").read_text()).get("_class_name", ""))
