"""A single-file checkpoint made offline from a diffusers SD 1.x folder: its UNet, VAE and
CLIP text encoder renamed to the original (LDM) layout that AUTOMATIC1111, ComfyUI and
model sites use, in one .safetensors file. The inverse of what diffusers' single-file
loader converts, written for the built-in tiny model's shape (any number of levels and
layers per block; attention optional per level)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

UNET, VAE, CLIP = "model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."
_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0",
           "conv2": "out_layers.3", "time_emb_proj": "emb_layers.1",
           "conv_shortcut": "skip_connection"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v",
                  "to_out.0": "proj_out"}


def write_single_file(folder: Path, target: Path) -> Path:
    """Write ``folder``'s weights as one LDM-layout checkpoint at ``target``; return it."""
    state: dict[str, torch.Tensor] = {}
    unet_config = json.loads((folder / "unet" / "config.json").read_text())
    for key, value in _weights(folder / "unet").items():
        state[UNET + _unet_key(key, unet_config)] = value
    vae_config = json.loads((folder / "vae" / "config.json").read_text())
    for key, value in _weights(folder / "vae").items():
        name = _vae_key(key, len(vae_config["block_out_channels"]))
        if ".mid.attn_1." in f".{name}" and value.ndim == 2:
            value = value[:, :, None, None]  # the original keeps 1x1 convolutions
        state[VAE + name] = value
    for key, value in _weights(folder / "text_encoder").items():
        # transformers 5.6+ saves CLIPTextModel without its `text_model.` wrapper.
        state[CLIP + ("" if key.startswith("text_model.") else "text_model.") + key] = value
    save_file({k: v.contiguous() for k, v in state.items()}, target)
    return target


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(next(folder.glob("*.safetensors")))


def _unet_key(key: str, config: dict) -> str:
    layers = config["layers_per_block"]
    parts = key.split(".")
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    head = ".".join(parts[:2])
    if head in fixed:
        return ".".join([fixed[head], *parts[2:]])
    if parts[0] in fixed:
        return ".".join([fixed[parts[0]], *parts[1:]])
    if parts[0] == "down_blocks":
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
        base = 1 + block * (layers + 1)
        if kind == "downsamplers":
            return ".".join([f"input_blocks.{base + layers}.0.op", *rest[1:]])
        slot = "0" if kind == "resnets" else "1"
        return ".".join([f"input_blocks.{base + index}.{slot}", *_inner(kind, rest)])
    if parts[0] == "mid_block":
        kind, index, rest = parts[1], int(parts[2]), parts[3:]
        slot = {("resnets", 0): 0, ("attentions", 0): 1, ("resnets", 1): 2}[(kind, index)]
        return ".".join([f"middle_block.{slot}", *_inner(kind, rest)])
    if parts[0] == "up_blocks":
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
        base = block * (layers + 1)
        if kind == "upsamplers":
            has_attention = "CrossAttn" in config["up_block_types"][block]
            return ".".join([f"output_blocks.{base + layers}.{2 if has_attention else 1}",
                             *rest])
        slot = "0" if kind == "resnets" else "1"
        return ".".join([f"output_blocks.{base + index}.{slot}", *_inner(kind, rest)])
    raise KeyError(f"no original name for UNet weight {key}")


def _inner(kind: str, rest: list[str]) -> list[str]:
    if kind == "resnets" and rest[0] in _RESNET:
        return [_RESNET[rest[0]], *rest[1:]]
    return rest


def _vae_key(key: str, levels: int) -> str:
    parts = key.split(".")
    coder, rest = parts[0], parts[1:]
    if coder in ("quant_conv", "post_quant_conv"):
        return key
    if rest[0] in ("conv_in", "conv_out"):
        return key
    if rest[0] == "conv_norm_out":
        return ".".join([coder, "norm_out", *rest[1:]])
    if rest[0] == "mid_block":
        kind, index, tail = rest[1], int(rest[2]), rest[3:]
        if kind == "attentions":
            name = ".".join(tail[:-1])
            return ".".join([coder, "mid.attn_1", _VAE_ATTENTION.get(name, name), tail[-1]])
        return ".".join([coder, f"mid.block_{index + 1}", *_vae_resnet(tail)])
    blocks, block, kind, index, tail = rest[0], int(rest[1]), rest[2], rest[3], rest[4:]
    level = block if blocks == "down_blocks" else levels - 1 - block
    stage = "down" if blocks == "down_blocks" else "up"
    if kind in ("downsamplers", "upsamplers"):
        sample = "downsample" if stage == "down" else "upsample"
        return ".".join([coder, f"{stage}.{level}.{sample}", *tail])
    return ".".join([coder, f"{stage}.{level}.block.{index}", *_vae_resnet(tail)])


def _vae_resnet(tail: list[str]) -> list[str]:
    return ["nin_shortcut", *tail[1:]] if tail[0] == "conv_shortcut" else tail
