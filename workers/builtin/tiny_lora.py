"""Tiny LoRA adapters for the built-in models, made offline with seeded weights.

Tests and the GPU benchmark register these like any adapter file: a rank-4 LoRA on the
attention projections of a pipeline's denoiser (UNet or transformer), saved in the
diffusers LoRA format by the pipeline class's own ``save_lora_weights``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workers.builtin.seeded import seed_weights

TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
FILE_NAME = "pytorch_lora_weights.safetensors"


def make_tiny_lora(pipe: Any, folder: Path, scope: str, rank: int = 4) -> Path:
    """Write a seeded LoRA for ``pipe``'s denoiser into ``folder``; return the file.

    ``scope`` seeds the weights (two scopes give two different adapters). The pipeline's
    own modules are left without the adapter.
    """
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    denoiser_name = "unet" if getattr(pipe, "unet", None) is not None else "transformer"
    denoiser = getattr(pipe, denoiser_name)
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=list(TARGETS),
                        init_lora_weights=False)
    denoiser.add_adapter(config, adapter_name="tiny")
    try:
        lora_params = {name: p for name, p in denoiser.named_parameters() if "lora_" in name}
        holder = _Holder(lora_params)
        seed_weights(holder, f"lora/{scope}")
        state = get_peft_model_state_dict(denoiser, adapter_name="tiny")
    finally:
        denoiser.delete_adapters("tiny")
    folder.mkdir(parents=True, exist_ok=True)
    type(pipe).save_lora_weights(folder, **{f"{denoiser_name}_lora_layers": state},
                                 weight_name=FILE_NAME, safe_serialization=True)
    return folder / FILE_NAME


class _Holder:
    """Just enough of an nn.Module for seed_weights: named_parameters over a dict."""

    def __init__(self, params: dict[str, Any]) -> None:
        self._params = params

    def named_parameters(self) -> Any:  # noqa: ANN401
        return iter(sorted(self._params.items()))
