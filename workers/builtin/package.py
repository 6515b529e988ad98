"""Turn a training run's tensors into the diffusers folders Lineage loads.

    python -m workers.builtin.package --run var/train --into workers/builtin/sketch

Writes two standard diffusers folders: `txt2img` (StableDiffusionPipeline: generation
and img2img) and `inpaint` (StableDiffusionInpaintPipeline with the 9-channel UNet:
inpaint and outpaint), each complete so plain diffusers loads it with
`from_pretrained(folder, dtype=torch.float32)`. Also copies train.json beside
them (how the weights were made) and writes `lineage.json` (the defaults Lineage uses
with this model: it was trained at 256 x 256).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import torch

from workers.builtin import architecture

# What Lineage fills in when a recipe leaves it out (workers/operations.py reads this).
DEFAULTS = {"width": 256, "height": 256}


def load_modules(run: Path) -> dict[str, Any]:
    """Build the model's modules from a training run folder (float32, eval mode)."""
    from safetensors.torch import load_file

    record = json.loads((run / "train.json").read_text())
    tokenizer = architecture.build_tokenizer()
    if record.get("vocab_size") not in (None, len(tokenizer)):
        raise ValueError(
            f"the run's vocabulary has {record['vocab_size']} tokens, this code builds "
            f"{len(tokenizer)}: package with the code that trained it"
        )
    text_encoder = architecture.build_text_encoder(len(tokenizer))
    scale = record["stages"]["vae"]["scaling_factor"]
    vae = architecture.build_vae(scaling_factor=scale,
                                 norm_groups=record.get("vae_norm_groups", 8))
    unet = architecture.build_unet()
    modules = {"tokenizer": tokenizer, "text_encoder": text_encoder, "vae": vae, "unet": unet}
    pairs = [(text_encoder, "text_encoder"), (vae, "vae"), (unet, "unet")]
    if (run / "unet_inpaint.safetensors").is_file():
        modules["unet_inpaint"] = architecture.build_unet(in_channels=9)
        pairs.append((modules["unet_inpaint"], "unet_inpaint"))
    for module, name in pairs:
        state = {k: v.float() for k, v in load_file(str(run / f"{name}.safetensors")).items()}
        module.load_state_dict(state, strict=True)
        module.eval().requires_grad_(False)
    return modules


def package(run: Path, into: Path) -> None:
    """Write the txt2img and inpaint folders, train.json and lineage.json into `into`."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    modules = load_modules(run)
    shared = {
        "vae": modules["vae"],
        "text_encoder": modules["text_encoder"],
        "tokenizer": modules["tokenizer"],
        "scheduler": architecture.build_sampler(),
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    txt2img = StableDiffusionPipeline(unet=modules["unet"], **shared)
    _save_half_unet(txt2img, into / "txt2img")
    if "unet_inpaint" in modules:
        inpaint = StableDiffusionInpaintPipeline(unet=modules["unet_inpaint"], **shared)
        _save_half_unet(inpaint, into / "inpaint")
    shutil.copy(run / "train.json", into / "train.json")
    (into / "lineage.json").write_text(json.dumps({"defaults": DEFAULTS}, indent=2) + "\n")


def _save_half_unet(pipe: Any, folder: Path) -> None:
    """Save with the UNet in float16 (half the bytes); the loader reads it back as float32."""
    pipe.unet.to(torch.float16)
    try:
        pipe.save_pretrained(folder, safe_serialization=True)
    finally:
        pipe.unet.to(torch.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a training run's --out folder")
    parser.add_argument("--into", type=Path, required=True, help="where the folders go")
    args = parser.parse_args(argv)
    package(args.run, args.into)


if __name__ == "__main__":
    main()
