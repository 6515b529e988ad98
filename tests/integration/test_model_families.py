"""SDXL, SD3 and Flux on their tiny random-weight built-ins (64 x 64, 2 steps, CPU).

Each family generates, edits (img2img, inpaint, outpaint) and records what it needs in
the recipe; feeding a recorded recipe back in gives the same bytes, and a family's own
keys change the picture (so the recorded values are the ones that ran). An SDXL refiner
(a second tiny SDXL model) finishes a generation's schedule and rebuilds bit-exact.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from safetensors.torch import load_file, save_file

from events.errors import DomainError
from workers import models, pipelines
from workers.operations import StepResult, run_step

FAMILY_SPECS = {"sdxl": "builtin:tiny-sdxl", "sd3": "builtin:tiny-sd3",
                "flux": "builtin:tiny-flux"}
BASE = {"prompt": "a lighthouse at dusk", "seed": 7, "steps": 2, "width": 64, "height": 64}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("families")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(folder))
        for name in ("DRAFT", "FINAL", "INPAINT", "UPSCALE"):
            patch.delenv(f"LINEAGE_MODEL_{name}", raising=False)
        yield folder
    pipelines.clear_cache()


def generate(family: str, **extra: object) -> StepResult:
    return run_step({"operation": "generate", "model": FAMILY_SPECS[family], **BASE, **extra})


def digest(result: StepResult) -> str:
    return hashlib.sha256(result.png).hexdigest()


@pytest.mark.parametrize("family", sorted(FAMILY_SPECS))
def test_each_family_generates_and_rebuilds_bit_exact(data_dir: Path, family: str) -> None:
    first = generate(family)
    image = Image.open(io.BytesIO(first.png))
    assert image.size == (64, 64)
    assert first.recipe["model_family"] == family
    assert len(set(image.convert("RGB").getdata())) > 10  # a picture, not a flat fill
    rebuilt = run_step(first.recipe)
    assert digest(rebuilt) == digest(first)
    assert rebuilt.recipe == first.recipe


def test_sdxl_records_second_prompt_and_size_conditioning(data_dir: Path) -> None:
    plain = generate("sdxl")
    assert plain.recipe["prompt_2"] == BASE["prompt"]
    assert plain.recipe["original_size"] == [64, 64]
    assert plain.recipe["target_size"] == [64, 64]
    assert plain.recipe["crops_coords_top_left"] == [0, 0]
    assert plain.recipe["refiner"] is None
    other = generate("sdxl", prompt_2="oil painting", original_size=[128, 128])
    assert other.recipe["prompt_2"] == "oil painting"
    assert digest(other) != digest(plain)
    assert digest(run_step(other.recipe)) == digest(other)


def test_flux_records_guidance_and_sequence_length(data_dir: Path) -> None:
    plain = generate("flux", guidance=3.5)
    assert plain.recipe["max_sequence_length"] == 512
    assert plain.recipe["guidance"] == 3.5 and plain.recipe["true_cfg_scale"] == 1.0
    stronger = generate("flux", guidance=9.0)
    assert digest(stronger) != digest(plain)  # embedded guidance reaches the transformer
    short = generate("flux", guidance=3.5, max_sequence_length=16)
    assert short.recipe["max_sequence_length"] == 16
    assert digest(run_step(short.recipe)) == digest(short)


def test_sd3_records_three_prompts(data_dir: Path) -> None:
    result = generate("sd3", prompt_3="a t5 caption", negative_prompt="fog")
    assert result.recipe["prompt_2"] == BASE["prompt"]
    assert result.recipe["prompt_3"] == "a t5 caption"
    assert result.recipe["negative_prompt_3"] == "fog"
    assert result.recipe["max_sequence_length"] == 256


def test_a_key_of_another_family_is_refused(data_dir: Path) -> None:
    with pytest.raises(DomainError, match="prompt_3 do not apply to a sdxl model"):
        generate("sdxl", prompt_3="t5 text")
    with pytest.raises(DomainError, match="refiner do not apply to a flux model"):
        generate("flux", refiner={"model": FAMILY_SPECS["sdxl"], "switch_at": 0.5})


@pytest.fixture(scope="module")
def refiner_folder(data_dir: Path) -> Path:
    """A second tiny SDXL model (other UNet weights) to serve as the refiner."""
    folder = data_dir / "tiny-refiner"
    shutil.copytree(models.ensure_builtin(data_dir, "sdxl"), folder)
    unet = folder / "unet" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(unet)
    tensors = {name: value * 1.1 if value.ndim == 2 else value
               for name, value in tensors.items()}
    save_file(tensors, unet)
    return folder


def test_an_sdxl_refiner_finishes_the_schedule_and_rebuilds_bit_exact(
        data_dir: Path, refiner_folder: Path) -> None:
    seen: list[tuple[int, int]] = []
    refined = run_step({"operation": "generate", "model": FAMILY_SPECS["sdxl"], **BASE,
                        "steps": 6, "refiner": {"model": str(refiner_folder),
                                                "switch_at": 0.5}},
                       progress=lambda done, total: seen.append((done, total)))
    assert refined.recipe["refiner"] == {
        "model_id": str(refiner_folder), "switch_at": 0.5,
        "model_weights_hash": models.weights_hash(refiner_folder)}
    assert seen == [(step, 6) for step in range(1, 7)]  # one count over both passes
    assert digest(run_step(refined.recipe)) == digest(refined)
    plain = generate("sdxl", steps=6)
    later = run_step({**refined.recipe, "refiner": {"model": str(refiner_folder),
                                                    "switch_at": 0.8}})
    assert len({digest(plain), digest(refined), digest(later)}) == 3
    with pytest.raises(DomainError, match="a refiner pass follows a generation"):
        run_step({**refined.recipe, "operation": "img2img", "strength": 0.5},
                 input_png=plain.png)


def test_a_refiner_whose_weights_changed_is_refused_by_a_rebuild(
        data_dir: Path, refiner_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "refiner"
    shutil.copytree(refiner_folder, folder)
    recorded = generate("sdxl", refiner={"model": str(folder), "switch_at": 0.5}).recipe
    unet = folder / "unet" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(unet)
    save_file({name: value + 0.01 for name, value in tensors.items()}, unet)
    pipelines.clear_cache()
    with pytest.raises(models.ModelUnavailable, match="refiner .* but the recipe needs "
                                                      "weights " + recorded["refiner"][
                                                          "model_weights_hash"]):
        run_step(recorded)


@pytest.mark.parametrize("family", sorted(FAMILY_SPECS))
def test_each_family_edits_and_rebuilds_bit_exact(data_dir: Path, family: str) -> None:
    source = generate(family).png
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    edits = [
        ({"operation": "img2img", "strength": 0.5, "steps": 4}, None, (64, 64)),
        ({"operation": "inpaint", "steps": 2}, buffer.getvalue(), (64, 64)),
        ({"operation": "outpaint", "steps": 2,
          "margins": {"left": 16, "right": 0, "top": 0, "bottom": 16}}, None, (80, 80)),
    ]
    for edit, mask_png, size in edits:
        recipe = {"prompt": "stormy", "seed": 3, "model": FAMILY_SPECS[family], **edit}
        result = run_step(recipe, input_png=source, mask_png=mask_png)
        assert (result.width, result.height) == size, edit["operation"]
        assert result.recipe["model_family"] == family
        again = run_step(result.recipe, input_png=source, mask_png=mask_png)
        assert digest(again) == digest(result), edit["operation"]


def test_an_sdxl_draft_promotes_onto_a_flux_final(data_dir: Path, monkeypatch) -> None:
    from commands.promotion import final_recipe

    monkeypatch.setenv("LINEAGE_MODEL_FINAL", FAMILY_SPECS["flux"])
    draft = generate("sdxl", tier="draft")
    final = run_step(final_recipe(draft.recipe, promoted_from="d", derived_from="d"))
    assert final.recipe["model_family"] == "flux" and final.recipe["tier"] == "final"
    assert "original_size" not in final.recipe  # the draft model's defaults stay behind
    assert final.recipe["max_sequence_length"] == 512
    assert final.recipe["scheduler"] == "FlowMatchEulerDiscreteScheduler"
    assert final.recipe["scheduler_replaced"]["requested"] == "EulerDiscreteScheduler"
    assert run_step(final.recipe).png == final.png  # and the final rebuilds bit-exact
    # A second prompt the person wrote is theirs, not a default: it is carried over.
    explicit = generate("sdxl", prompt_2="watercolour")
    carried = final_recipe(explicit.recipe, promoted_from="d", derived_from="d")
    assert carried["prompt_2"] == "watercolour" and "target_size" not in carried
    assert run_step(carried).recipe["prompt_2"] == "watercolour"
