"""The shapes of the trained built-in model ("builtin:sketch"): tokenizer, text encoder,
UNets, VAE and scheduler, in the standard diffusers Stable Diffusion layout.

Sized for a CPU: a 256 x 256 draft (20 steps with classifier-free guidance) runs in well
under a second on one thread. The training script builds its modules from these
functions and the packaging step loads the trained tensors into the same shapes, so the
two can never disagree.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from workers.builtin import scenes
from workers.builtin.seeded import bytes_to_unicode

TEXT_WIDTH = 128
MAX_TOKENS = 32
LATENT_CHANNELS = 4
# Extra words a person is likely to type beside the training vocabulary; known words
# become single tokens (unknown ones still tokenize, letter by letter).
_EXTRA_WORDS = str.split(
    "a an the of on in at by and with to is are small medium large big tiny left right top "
    "bottom centre center middle corner above below under over beside next sky sea grass "
    "sunset night background picture image photo of"
)  # their order fixes the token ids: append, never reorder


def vocabulary() -> list[str]:
    """Every word the captions use, plus common extras, in a fixed order."""
    words: list[str] = []
    phrases = [
        *scenes.COLOURS, *scenes.SHAPES, *scenes.SIZES, *scenes.RELATIONS,
        *(p for ps in scenes.POSITION_PHRASES.values() for p in ps),
        *(p for ps in scenes.SCENERY_PHRASES.values() for p in ps),
        "background", *_EXTRA_WORDS,
    ]
    for phrase in phrases:
        for word in phrase.split():
            if word not in words:
                words.append(word)
    return words


def tokenizer_files() -> tuple[dict[str, int], list[str]]:
    """The CLIP BPE vocabulary and merges: every byte, then merges that make each known
    word one token.

    Merges apply lowest rank first to every word, so a merge added for one word can split
    another ("ta" of "table" inside "star"); words still split are joined by merges
    appended after the current ones, until every known word is a single token.
    """
    chars = [bytes_to_unicode()[b] for b in range(256)]
    vocab: dict[str, int] = {}
    for token in chars + [c + "</w>" for c in chars]:
        vocab[token] = len(vocab)
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    words = vocabulary()
    for _ in range(64):
        split = [(w, parts) for w in words if len(parts := _bpe(w, ranks)) > 1]
        if not split:
            break
        for _word, parts in split:
            current = parts[0]
            for nxt in parts[1:]:
                pair = (current, nxt)
                current += nxt
                if pair not in ranks:
                    ranks[pair] = len(merges)
                    merges.append(pair)
                vocab.setdefault(current, len(vocab))
    else:
        raise RuntimeError("tokenizer merges did not converge")
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    return vocab, [f"{a} {b}" for a, b in merges]


def _bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Byte-pair encode one word (characters, the last with '</w>') with merge `ranks`."""
    parts = list(word[:-1]) + [word[-1] + "</w>"]
    while len(parts) > 1:
        pairs = [(ranks.get((a, b)), i) for i, (a, b) in enumerate(pairwise(parts))]
        known = [(rank, i) for rank, i in pairs if rank is not None]
        if not known:
            break
        best = min(known)[0]
        merged: list[str] = []
        i = 0
        while i < len(parts):
            if i + 1 < len(parts) and ranks.get((parts[i], parts[i + 1])) == best:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts


def build_tokenizer() -> Any:
    """A CLIP tokenizer whose known words are single tokens; prompts up to 32 tokens."""
    from transformers import CLIPTokenizer

    vocab, merges = tokenizer_files()
    pairs = [tuple(rule.split(" ")) for rule in merges]
    return CLIPTokenizer(vocab=vocab, merges=pairs, model_max_length=MAX_TOKENS)


def build_text_encoder(vocab_size: int) -> Any:
    """A small CLIP text transformer (3 layers, width 128), freshly initialised."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=TEXT_WIDTH,
        intermediate_size=4 * TEXT_WIDTH,
        num_hidden_layers=3,
        num_attention_heads=4,
        max_position_embeddings=MAX_TOKENS,
        projection_dim=TEXT_WIDTH,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )
    return CLIPTextModel(config)


def build_unet(in_channels: int = LATENT_CHANNELS) -> Any:
    """The denoiser: 4 levels (32x32 to 4x4 latents), text attention at 8x8 and 4x4.

    in_channels 4 for generation and img2img; 9 (latents, mask, masked-image latents)
    for the inpainting UNet, as in Stable Diffusion's inpainting checkpoints.
    """
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=32,
        in_channels=in_channels,
        out_channels=LATENT_CHANNELS,
        block_out_channels=(32, 64, 128, 128),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D",
                          "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=32,
        norm_num_groups=16,
    )


# GroupNorm groups of the VAE. The shipped weights were trained with 8 (one channel per
# group at full resolution: every norm wipes a channel's mean, so flat backgrounds lose
# their colour and the decoder leans on the image border; 22% of the held-out adherence
# scenes survive an encode and decode). In a CPU trial at 64 px, 500 steps, 2 groups
# reconstructed 68% of the backgrounds against 22% with 8; the next training run uses 2.
# A run records its value (train.json "vae_norm_groups"); runs without it used 8.
VAE_NORM_GROUPS = 2


def build_vae(scaling_factor: float = 1.0, norm_groups: int = VAE_NORM_GROUPS) -> Any:
    """An 8x autoencoder (256 px images to 32x32x4 latents), narrow at full resolution."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 32, 64),
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=norm_groups,
        sample_size=scenes.SIZE,
        scaling_factor=scaling_factor,
    )


NOISE_SCHEDULE: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
}


def build_train_scheduler() -> Any:
    """The noise schedule the model is trained on (Stable Diffusion's)."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(**NOISE_SCHEDULE, clip_sample=False)


def build_sampler() -> Any:
    """The scheduler shipped with the pipeline: DPM-Solver++ (2M) on the same schedule."""
    from diffusers import DPMSolverMultistepScheduler

    # lambda_min_clipped's default is -inf, which a recipe (JSON) cannot record; log-SNR
    # on this schedule never goes below -10, so -100 clips nothing either.
    return DPMSolverMultistepScheduler(
        **NOISE_SCHEDULE, algorithm_type="dpmsolver++", solver_order=2, steps_offset=1,
        lambda_min_clipped=-100.0,
    )
