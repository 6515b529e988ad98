"""Seeded, machine-independent weights and a file-free byte-level CLIP tokenizer: what
every built-in tiny model (builtin:tiny and the SDXL/SD3/Flux ones) is made of."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-to-printable-character map, so every byte is one vocabulary entry."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def byte_tokenizer() -> Any:
    """A byte-level CLIP tokenizer with no merges: any text tokenizes, no files needed."""
    from transformers import CLIPTokenizer

    chars = [bytes_to_unicode()[b] for b in range(256)]
    vocab: dict[str, int] = {}
    for token in chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab[token] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)



def seed_weights(module: torch.nn.Module, scope: str) -> None:
    """Overwrite every parameter from a PCG64 stream seeded by scope and parameter name.

    torch's CPU initialisers are not used: their last bits depend on the instruction set,
    and NumPy's distribution methods may change between releases. The raw PCG64 output is
    fixed by its algorithm, and the arithmetic below is exact IEEE float64, so the weights
    are bit-identical everywhere.
    """
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(torch.from_numpy(_initial_value(f"{scope}/{name}", tuple(param.shape))))


# A fixed low-pass 3x3 profile for the VAE decoder's kernels: with independent random taps
# the decoder paints pixel noise; with smooth kernels it paints soft abstract blobs.
_SMOOTH_KERNEL = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
_SMOOTH_KERNEL /= np.sqrt((_SMOOTH_KERNEL**2).sum())
# Damps the decoder's last layer so colours stay inside [0, 1] instead of saturating.
_DECODER_OUT_GAIN = 0.4


def _initial_value(key: str, shape: tuple[int, ...]) -> np.ndarray:
    """The initial float32 value of the parameter named `key` (scope/family/name)."""
    param_name = key.rsplit("/", 1)[-1]
    leaf = param_name.rsplit(".", 1)[-1]
    is_norm = "norm" in param_name.lower()
    if is_norm and leaf == "weight":
        return np.ones(shape, dtype=np.float32)
    if is_norm and leaf == "bias":
        return np.zeros(shape, dtype=np.float32)
    if "/vae/" in key and param_name.startswith("decoder.") and shape[2:] == (3, 3):
        gains = _uniform(key, shape[:2] + (1, 1))
        value = gains * _SMOOTH_KERNEL
    else:
        value = _uniform(key, shape)
    if "/vae/" in key and param_name == "decoder.conv_out.weight":
        value = value * _DECODER_OUT_GAIN
    return value.astype(np.float32)


def _uniform(key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform float64 values with variance 1/fan_in (biases: a tenth of that scale).

    Variance 1/fan_in keeps activations at a usable scale through the network, so the
    random model paints visible structure instead of flat grey.
    """
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])
    bound = np.sqrt(3.0 / max(fan_in, 1))
    if len(shape) <= 1:
        bound *= 0.1
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    count = int(np.prod(shape)) if shape else 1
    raw = np.random.PCG64(seed).random_raw(count)
    unit = (raw >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return ((unit * 2.0 - 1.0) * bound).reshape(shape)
