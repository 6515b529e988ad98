"""Model specs and the built-in tiny Stable-Diffusion-shaped model family.

A model spec is one of:

- ``"builtin:sketch"``: the trained built-in model, shipped in the repository under
  ``workers/builtin/sketch`` (a ``txt2img`` and an ``inpaint`` diffusers folder; it
  upscales by Lanczos resize plus a low-strength img2img pass); made by
  ``workers/builtin/train.py`` from procedurally drawn scenes;
- ``"builtin:tiny"``: a tiny pipeline built here from configs, its weights drawn from a
  seeded PCG64 stream so the files are byte-identical on every machine; built once under
  ``<data_dir>/models/builtin-tiny/<family>`` and loaded from there ever after;
- ``"builtin:tiny-sdxl"``, ``"builtin:tiny-sd3"``, ``"builtin:tiny-flux"``: tiny random
  pipelines of those families (workers/builtin/families.py), built and loaded the same
  way; their one folder serves generation, img2img and inpainting;
- a local diffusers folder (``model_index.json`` inside);
- a Hugging Face hub id (works only where a hub is reachable, never in tests).

Families: ``txt2img`` (also serves img2img), ``inpaint`` (9-channel UNet) and ``upscale``
(x4, 7-channel UNet with noise-level class embeddings). The safety checker is always off.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from events.errors import DomainError
from workers.builtin.families import TINY_FAMILIES, build_family_pipeline
from workers.builtin.seeded import byte_tokenizer, seed_weights

BUILTIN_TINY = "builtin:tiny"
BUILTIN_SKETCH = "builtin:sketch"
TINY_FAMILY_SPECS = {f"builtin:tiny-{family}": family for family in TINY_FAMILIES}
BUILTINS = (BUILTIN_SKETCH, BUILTIN_TINY, *TINY_FAMILY_SPECS)
FAMILIES = ("txt2img", "inpaint", "upscale", *TINY_FAMILIES)
SKETCH_DIR = Path(__file__).resolve().parent / "builtin" / "sketch"
# Lineage's own notes beside a model's folders: the defaults it was made for.
DEFAULTS_FILE = "lineage.json"

# Files that hold learned tensors. Configs and tokenizer files are left out on purpose:
# libraries stamp their own version into them, and a diffusers upgrade must not make
# identical weights look like a different model (the environment records versions).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".onnx")

TEXT_WIDTH = 32
MAX_NOISE_LEVEL = 350

_build_lock = threading.Lock()


class ModelUnavailable(DomainError):
    """The model a step needs cannot be loaded here, or its weights differ from those
    recorded (a rebuild must not silently run on other weights)."""

    status = 503
    title = "Model unavailable"


def builtin_dir(data_dir: Path, family: str) -> Path:
    """Return where the built-in model of `family` lives under `data_dir`."""
    return Path(data_dir) / "models" / "builtin-tiny" / family


def ensure_builtin(data_dir: Path, family: str) -> Path:
    """Build the built-in `family` model under `data_dir` unless present; return its folder.

    Safe under concurrency: a thread lock plus an exclusive file lock serialise builders,
    and the model is written to a temporary folder that is renamed into place, so a
    reader never sees a half-written model. Raises ValueError for an unknown family.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown built-in model family {family!r}; expected one of {FAMILIES}")
    target = builtin_dir(data_dir, family)
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    quiet_progress_bars()
    with _build_lock, _file_lock(target.parent / f".{family}.lock"):
        if (target / "model_index.json").is_file():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{family}-", dir=target.parent))
        try:
            build_pipeline(family).save_pretrained(staging, safe_serialization=True)
            if target.exists():
                # No model_index.json: a damaged folder (files deleted by hand); replace it.
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (other processes building the same model)."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def quiet_progress_bars() -> None:
    """Turn off diffusers/transformers progress bars (saving, loading): workers log."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def weights_hash(path: Path) -> str:
    """Return the SHA-256 over a model folder's weight files (or over one file).

    Takes the folder (or a single-file checkpoint, hashed as a folder holding only it);
    hashes, in sorted order of their POSIX relative paths, each weight
    file's relative path and bytes (length-prefixed, so boundaries cannot shift). Hidden
    files and folders (hub caches, locks) are skipped. Raises FileNotFoundError when the
    folder holds no weight file at all.
    """
    root = Path(path)
    if root.is_file():
        return _hash_files(root.parent, [root.name])
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in WEIGHT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise FileNotFoundError(f"no weight files under {root}")
    return _hash_files(root, files)


def single_file_weights_hash(path: Path, config: Path | None) -> str:
    """The weights hash of a single-file checkpoint loaded with ``config`` (a diffusers
    folder): the file's `weights_hash`, combined with the folder's when the folder holds
    weight files, since diffusers takes from it any component the file lacks (a
    transformer-only Flux file's text encoders), and changing those changes pictures."""
    own = weights_hash(path)
    if config is None:
        return own
    try:
        supplied = weights_hash(config)
    except FileNotFoundError:  # configuration only: nothing of it reaches the weights
        return own
    return hashlib.sha256(f"single-file:{own}\nconfig:{supplied}".encode()).hexdigest()


def _hash_files(root: Path, files: list[str]) -> str:
    digest = hashlib.sha256()
    for rel in files:
        name = rel.encode()
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update((root / rel).stat().st_size.to_bytes(8, "big"))
        with open(root / rel, "rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def resolve_local(spec: str, data_dir: Path, family: str) -> Path | None:
    """Return the local folder a spec names (building the tiny one), or None for a hub id.

    builtin:sketch has no upscaler of its own: its `upscale` family is the txt2img folder
    (upscaling runs as resize plus img2img).
    """
    if spec == BUILTIN_TINY:
        return ensure_builtin(data_dir, family)
    if spec in TINY_FAMILY_SPECS:
        return ensure_builtin(data_dir, TINY_FAMILY_SPECS[spec])
    if spec == BUILTIN_SKETCH:
        return SKETCH_DIR / ("inpaint" if family == "inpaint" else "txt2img")
    if spec.startswith("builtin:"):
        raise ValueError(f"unknown built-in model {spec!r}; expected one of {', '.join(BUILTINS)}")
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    return None


def model_defaults(spec: str) -> dict[str, Any]:
    """Recipe defaults a model folder declares in lineage.json ({} when none do).

    builtin:sketch declares 256 x 256 (its training size); a local folder may carry its
    own lineage.json beside model_index.json or one level up. Hub ids declare nothing.
    Read once per spec and process (every recipe step asks; pipelines.clear_cache()
    forgets it).
    """
    return dict(_declared_defaults(spec))


@functools.lru_cache(maxsize=64)
def _declared_defaults(spec: str) -> dict[str, Any]:
    if spec == BUILTIN_TINY or spec in TINY_FAMILY_SPECS:
        return {}
    folder = SKETCH_DIR if spec == BUILTIN_SKETCH else Path(spec).expanduser()
    for candidate in (folder / DEFAULTS_FILE, folder.parent / DEFAULTS_FILE):
        if candidate.is_file():
            data = json.loads(candidate.read_text())
            return dict(data.get("defaults", {}))
    return {}


def is_upscaler(folder: Path) -> bool:
    """Whether a diffusers folder holds a dedicated upscaling pipeline (else: resize + img2img)."""
    index = folder / "model_index.json"
    if not index.is_file():
        return False
    return "Upscale" in str(json.loads(index.read_text()).get("_class_name", ""))


def hub_snapshot(spec: str) -> Path:
    """Return the local snapshot folder of a hub model that from_pretrained fetched."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(spec, local_files_only=True))


# --- building -----------------------------------------------------------------------------


def build_pipeline(family: str) -> Any:
    """Build the in-memory built-in pipeline of `family` with deterministic weights."""
    if family in TINY_FAMILIES:
        return build_family_pipeline(family)
    from diffusers import (
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        StableDiffusionUpscalePipeline,
    )

    tokenizer = byte_tokenizer()
    text_encoder = _text_encoder(len(tokenizer))
    scheduler = DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    if family == "upscale":
        unet = _unet(in_channels=7, num_class_embeds=MAX_NOISE_LEVEL + 1)
        vae = _vae(blocks=3, channels=(16, 32, 32), scaling_factor=0.08333)
        pipe = StableDiffusionUpscalePipeline(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            low_res_scheduler=DDPMScheduler(
                num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02
            ),
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            watermarker=None,
            max_noise_level=MAX_NOISE_LEVEL,
        )
    else:
        unet = _unet(in_channels=9 if family == "inpaint" else 4)
        vae = _vae(blocks=4, channels=(16, 32, 32, 32), scaling_factor=0.18215)
        cls = StableDiffusionInpaintPipeline if family == "inpaint" else StableDiffusionPipeline
        pipe = cls(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    for name, module in (("text_encoder", text_encoder), ("unet", unet), ("vae", vae)):
        seed_weights(module, f"{family}/{name}")
    return pipe


def _text_encoder(vocab_size: int) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=TEXT_WIDTH,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=TEXT_WIDTH,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )
    return CLIPTextModel(config).eval()


def _unet(in_channels: int, num_class_embeds: int | None = None) -> Any:
    from diffusers import UNet2DConditionModel

    if num_class_embeds is None:
        blocks = (32, 64)
        down = ("DownBlock2D", "CrossAttnDownBlock2D")
        up = ("CrossAttnUpBlock2D", "UpBlock2D")
    else:
        # The upscaler's latents are as large as its input image, so attention runs only
        # at the lowest resolution (4x cheaper than at half resolution).
        blocks = (32, 32, 64)
        down = ("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D")
        up = ("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D")
    return UNet2DConditionModel(
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=blocks,
        layers_per_block=1,
        down_block_types=down,
        up_block_types=up,
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=8,
        norm_num_groups=8,
        num_class_embeds=num_class_embeds,
    ).eval()


def _vae(blocks: int, channels: tuple[int, ...], scaling_factor: float) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=channels,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=scaling_factor,
    ).eval()
