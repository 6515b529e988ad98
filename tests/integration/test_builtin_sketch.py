"""The trained built-in model, builtin:sketch: the default tiers' model.

Its weights are pinned by hash; it renders what a prompt's background and colours say
(statistics, not pixel equality); edits keep what they must; every step rebuilds
bit-exact, also in plain diffusers from the recorded recipe.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from workers import models, pipelines
from workers.builtin import adherence
from workers.operations import run_step

TXT2IMG_SHA256 = "7854bd7f822101e20d880407bb5a43ae45297ec6bd5d8c91ff2ad38f4ee36b25"
INPAINT_SHA256 = "dcfadfb89104e6946c67146c0ebb143809eda7b84fcdc2fab4616574294212f5"


@pytest.fixture(scope="module", autouse=True)
def sketch_by_default(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every tier on its default model (the suite's conftest points them at builtin:tiny)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(tmp_path_factory.mktemp("sketch-data")))
        for name in ("DEFAULT", "DRAFT", "FINAL", "INPAINT", "UPSCALE"):
            patch.delenv(f"LINEAGE_MODEL_{name}", raising=False)
        yield


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def generate(prompt: str, seed: int = 3, **extra: object) -> bytes:
    return run_step({"operation": "generate", "prompt": prompt, "seed": seed, **extra}).png


def test_the_shipped_weights_are_the_pinned_ones():
    assert models.weights_hash(models.SKETCH_DIR / "txt2img") == TXT2IMG_SHA256
    assert models.weights_hash(models.SKETCH_DIR / "inpaint") == INPAINT_SHA256


def test_default_tiers_draw_with_the_trained_model_at_its_own_size():
    result = run_step({"operation": "generate", "prompt": "a red circle", "seed": 1})
    assert pipelines.model_spec_for("generate", "draft") == models.BUILTIN_SKETCH
    assert result.recipe["model_id"] == models.BUILTIN_SKETCH
    assert result.recipe["model_weights_hash"] == TXT2IMG_SHA256
    assert (result.width, result.height) == (256, 256)  # trained size, not 512


@pytest.mark.parametrize(("prompt", "background"), [
    ("a large white circle in the centre on a blue background", "blue"),
    ("a small yellow square at the top left on a black background", "black"),
    ("a pink heart at night", "night"),
])
def test_the_background_follows_the_prompt(prompt, background):
    ok, seen = adherence.background_matches(pixels(generate(prompt)), background)
    assert ok, f"{prompt!r}: borders look {seen}"


def object_colour(image: np.ndarray) -> np.ndarray:
    """Mean colour of the pixels that differ clearly from the border's median colour."""
    frame = np.median(adherence.borders(image), axis=0)
    far = np.linalg.norm(image.astype(float) - frame, axis=2) > 60
    return image[far].mean(axis=0)


def test_a_rebake_from_red_to_navy_changes_the_jackets_colour():
    red = object_colour(pixels(generate("a red jacket on a white background", seed=5)))
    navy = object_colour(pixels(generate("a navy jacket on a white background", seed=5)))
    assert red[0] - red[2] > navy[0] - navy[2] + 60, (red, navy)
    assert navy.sum() < red.sum()  # navy is the darker


def test_a_draft_rebuilds_bit_exact_from_its_recorded_recipe():
    first = run_step({"operation": "generate", "prompt": "a green tree on grass", "seed": 9})
    again = run_step(first.recipe, expect_weights_hash=TXT2IMG_SHA256)
    assert again.png == first.png


def test_plain_diffusers_rerenders_the_recorded_recipe():
    from diffusers import StableDiffusionPipeline

    recipe = run_step({"operation": "generate", "prompt": "a purple ring by the sea",
                       "seed": 4, "steps": 8}).recipe
    pipe = StableDiffusionPipeline.from_pretrained(models.SKETCH_DIR / "txt2img",
                                                   dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = type(pipe.scheduler).from_config(recipe["scheduler_config"])
    image = pipe(recipe["prompt"], negative_prompt=recipe["negative_prompt"],
                 num_inference_steps=recipe["steps"], guidance_scale=recipe["guidance"],
                 width=recipe["width"], height=recipe["height"],
                 generator=torch.Generator("cpu").manual_seed(recipe["seed"])).images[0]
    ours = run_step(recipe).png
    assert np.array_equal(np.asarray(image), pixels(ours))


def mask_png(box: tuple[int, int, int, int], size: tuple[int, int] = (256, 256)) -> bytes:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return out.getvalue()


def test_inpaint_repaints_only_the_masked_region_and_rebuilds():
    base = generate("a blue background", seed=2)
    box = (64, 64, 192, 192)
    result = run_step({"operation": "inpaint", "prompt": "a yellow star", "seed": 2},
                      input_png=base, mask_png=mask_png(box))
    before, after = pixels(base), pixels(result.png)
    outside = np.ones(before.shape[:2], bool)
    outside[box[1]:box[3], box[0]:box[2]] = False
    assert np.array_equal(before[outside], after[outside])
    assert np.abs(before[~outside].astype(int) - after[~outside]).mean() > 5
    assert result.recipe["model_weights_hash"] == INPAINT_SHA256
    assert run_step(result.recipe, input_png=base, mask_png=mask_png(box)).png == result.png


def test_outpaint_extends_the_canvas_and_keeps_the_original():
    base = generate("a red house on grass", seed=6)
    margins = {"left": 64, "right": 64, "top": 0, "bottom": 0}
    result = run_step({"operation": "outpaint", "prompt": "a red house on grass", "seed": 6,
                       "margins": margins}, input_png=base)
    assert (result.width, result.height) == (384, 256)
    assert np.array_equal(pixels(result.png)[:, 64:320], pixels(base))


def test_upscale_is_resize_plus_img2img_recorded_as_one_step(tmp_path: Path):
    base = generate("a white lighthouse by the sea", seed=8)
    result = run_step({"operation": "upscale", "prompt": "a white lighthouse by the sea",
                       "seed": 8, "scale": 2}, input_png=base)
    assert (result.width, result.height) == (512, 512)
    assert result.recipe["upscale_method"] == pipelines.UPSCALE_BY_IMG2IMG
    assert result.recipe["strength"] == 0.3 and "noise_level" not in result.recipe
    # The picture is kept: the upscale is close to a plain resize of its input.
    resized = Image.open(io.BytesIO(base)).resize((512, 512), Image.Resampling.LANCZOS)
    assert np.abs(pixels(result.png).astype(int) - np.asarray(resized)).mean() < 25
    assert run_step(result.recipe, input_png=base).png == result.png
