"""Tiny random-weight SDXL, SD3 and Flux pipelines, built offline like builtin:tiny.

Each is the smallest configuration of its family's real architecture that diffusers
runs end to end (two CLIP text encoders for SDXL; two CLIP encoders plus T5 for SD3;
CLIP plus T5 for Flux), with its weights drawn from the same seeded PCG64 stream as the
built-in tiny model (`workers.builtin.seeded`), so the files are byte-identical on
every machine. They prove each family's generation, edits, LoRAs and bit-exact rebuild
without downloading anything; their pictures are abstract blobs.

The VAEs downscale by 8 (four blocks), as the real ones do, so a 1024 x 1024 image runs
on a 128 x 128 latent: the GPU benchmark exercises real sequence lengths.
"""

from __future__ import annotations

from typing import Any

from workers.builtin.seeded import byte_tokenizer, seed_weights

TINY_FAMILIES = ("sdxl", "sd3", "flux")
TEXT_WIDTH = 32
VAE_CHANNELS = (16, 32, 32, 32)


def build_family_pipeline(family: str) -> Any:
    """Build the in-memory tiny pipeline of `family` (sdxl, sd3 or flux), seeded weights.

    Raises ValueError for another family.
    """
    builders = {"sdxl": _sdxl, "sd3": _sd3, "flux": _flux}
    if family not in builders:
        raise ValueError(f"unknown tiny family {family!r}; expected one of {TINY_FAMILIES}")
    pipe, modules = builders[family]()
    for name, module in modules.items():
        seed_weights(module, f"{family}/{name}")
    return pipe


def _clip_tokenizer() -> Any:
    return byte_tokenizer()


def _t5_tokenizer() -> Any:
    """A character-level T5 (unigram) tokenizer built from a vocabulary list: no files."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)]
    vocab += [(chr(code), -1.0) for code in range(33, 127)]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def _clip(vocab_size: int, with_projection: bool) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=TEXT_WIDTH, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
        projection_dim=TEXT_WIDTH, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1, hidden_act="gelu",
    )
    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    return cls(config).eval()


def _t5(vocab_size: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=vocab_size, d_model=TEXT_WIDTH, d_ff=64, d_kv=8, num_layers=2,
        num_heads=4, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0,
    )
    return T5EncoderModel(config).eval()


def _vae(latent_channels: int, scaling_factor: float, shift_factor: float | None) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=VAE_CHANNELS,
        layers_per_block=1, latent_channels=latent_channels, norm_num_groups=8,
        sample_size=64, scaling_factor=scaling_factor, shift_factor=shift_factor,
        use_quant_conv=shift_factor is None, use_post_quant_conv=shift_factor is None,
    ).eval()


def _sdxl() -> tuple[Any, dict[str, Any]]:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _clip_tokenizer()
    text_encoder = _clip(len(tokenizer), with_projection=False)
    text_encoder_2 = _clip(len(tokenizer_2), with_projection=True)
    time_dim = 8
    unet = UNet2DConditionModel(
        sample_size=32, in_channels=4, out_channels=4, block_out_channels=(32, 64),
        layers_per_block=1, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
        use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=time_dim, transformer_layers_per_block=(1, 1),
        # six micro-conditioning numbers (original size, crop, target size) + pooled text
        projection_class_embeddings_input_dim=6 * time_dim + TEXT_WIDTH,
        cross_attention_dim=2 * TEXT_WIDTH, norm_num_groups=8,
    ).eval()
    vae = _vae(4, 0.13025, None)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        steps_offset=1, timestep_spacing="leading",
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
    )
    return pipe, {"text_encoder": text_encoder, "text_encoder_2": text_encoder_2,
                  "unet": unet, "vae": vae}


def _sd3() -> tuple[Any, dict[str, Any]]:
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )

    tokenizer, tokenizer_2, tokenizer_3 = _clip_tokenizer(), _clip_tokenizer(), _t5_tokenizer()
    text_encoder = _clip(len(tokenizer), with_projection=True)
    text_encoder_2 = _clip(len(tokenizer_2), with_projection=True)
    text_encoder_3 = _t5(len(tokenizer_3))
    transformer = SD3Transformer2DModel(
        sample_size=64, patch_size=2, in_channels=16, out_channels=16, num_layers=2,
        attention_head_dim=8, num_attention_heads=4, caption_projection_dim=32,
        joint_attention_dim=TEXT_WIDTH, pooled_projection_dim=2 * TEXT_WIDTH,
        pos_embed_max_size=128,
    ).eval()
    vae = _vae(16, 1.5305, 0.0609)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
        text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3,
    )
    return pipe, {"text_encoder": text_encoder, "text_encoder_2": text_encoder_2,
                  "text_encoder_3": text_encoder_3, "transformer": transformer, "vae": vae}


def _flux() -> tuple[Any, dict[str, Any]]:
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _t5_tokenizer()
    text_encoder = _clip(len(tokenizer), with_projection=False)
    text_encoder_2 = _t5(len(tokenizer_2))
    latent_channels = 4
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4 * latent_channels, num_layers=1, num_single_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=TEXT_WIDTH, guidance_embeds=True, axes_dims_rope=(4, 4, 8),
    ).eval()
    vae = _vae(latent_channels, 0.3611, 0.1159)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096,
    )
    pipe = FluxPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer,
    )
    return pipe, {"text_encoder": text_encoder, "text_encoder_2": text_encoder_2,
                  "transformer": transformer, "vae": vae}
