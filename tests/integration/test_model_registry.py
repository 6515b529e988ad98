"""The model registry end to end: `lineage models add` inspects a real diffusers folder
(a copy of the tiny SDXL), a tier names it, jobs run it and record its name, the
LINEAGE_MODEL_* variables register what they point at, and a rebuild refuses changed
weights naming the registry entry and the hash it needs. A single-file checkpoint (the
tiny SD model in the original layout) loads offline with `--config DIR` and renders the
pixels of the folder it was made from."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from safetensors.torch import load_file, save_file

from app.cli import main
from app.config import Settings
from app.services import build_services
from commands.models import list_models
from imaging.blobs import BlobStore
from tests.integration.jobs_support import new_project, tiny_recipe
from tests.integration.rebuild_support import run_one
from tests.integration.single_file_support import write_single_file
from workers import model_registry, model_sync, models, pipelines
from workers.job_runner import JobContext
from workers.model_hashes import find_model_by_hash
from workers.operations import run_step
from workers.rebuild import rebuild_report

UNET = "unet/diffusion_pytorch_model.safetensors"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LINEAGE_DATABASE_URL", raising=False)
    for name in ("DRAFT", "FINAL", "INPAINT", "UPSCALE"):
        monkeypatch.delenv(f"LINEAGE_MODEL_{name}", raising=False)
    assert main(["db", "upgrade"]) == 0
    yield tmp_path
    pipelines.clear_cache()
    model_registry.forget()


@pytest.fixture
def my_model(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A diffusers folder of the SDXL family outside Lineage's data dir."""
    folder = tmp_path_factory.mktemp("studio-models") / "house-sdxl"
    shutil.copytree(models.ensure_builtin(data_dir, "sdxl"), folder)
    return folder


@pytest.fixture
def context(data_dir: Path) -> Iterator[JobContext]:
    services = build_services(Settings.from_env())
    yield JobContext(services.store, BlobStore(data_dir / "blobs"))
    services.close()


def change_a_weight(folder: Path) -> None:
    tensors = load_file(folder / UNET)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 0.5
    save_file(tensors, folder / UNET)


def test_models_add_records_family_class_components_and_file_hashes(
        my_model: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "add", "house", str(my_model), "--tier", "draft"]) == 0
    assert "house: registered (pipeline, sdxl, StableDiffusionXLPipeline" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    (entry,) = answer["items"]
    assert answer["tiers"]["draft"] == "house"
    assert entry["components"] == ["scheduler", "text_encoder", "text_encoder_2", "tokenizer",
                                   "tokenizer_2", "unet", "vae"]
    files = {f["path"]: f["sha256"] for f in entry["files"]}
    assert files[UNET] == hashlib.sha256((my_model / UNET).read_bytes()).hexdigest()
    assert len(files) == 4  # two text encoders, the UNet and the VAE
    assert entry["weights_hash"] == models.weights_hash(my_model)
    assert main(["models", "add", "nothing", str(my_model / "unet")]) == 2
    # An imported image's short model hash finds the registered folder.
    services = build_services(Settings.from_env())
    try:
        model_sync.refresh(services.store)
    finally:
        services.close()
    match = find_model_by_hash(entry["weights_hash"][:10])
    assert match is not None and match.spec == str(my_model)


def test_a_tier_runs_its_registered_model_and_rebuild_refuses_changed_weights(
        my_model: Path, context: JobContext) -> None:
    assert main(["models", "add", "house", str(my_model), "--tier", "draft"]) == 0
    user_id = str(uuid.uuid4())
    project_id, asset_id = new_project(context.store, user_id)
    version = run_one(context, project_id, asset_id, user_id, tiny_recipe())
    assert version.recipe["model_name"] == "house"
    assert version.recipe["model_family"] == "sdxl"
    assert version.recipe["model_id"] == str(my_model)
    assert rebuild_report(context.store, context.blobs, version.version_id)["verdict"] == \
        "bit_exact"

    change_a_weight(my_model)
    pipelines.clear_cache()
    model_registry.forget()  # as in `lineage rebuild`, outside a job: it reads the registry
    report = rebuild_report(context.store, context.blobs, version.version_id)
    assert report["verdict"] == "stopped"
    stop = report["stopped"]
    assert stop["reason"] == "model_unavailable" and stop["model_name"] == "house"
    assert "registry entry 'house'" in stop["message"]
    assert version.recipe["model_weights_hash"] in stop["message"]


def test_environment_variables_register_what_they_point_at(
        my_model: Path, context: JobContext, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("LINEAGE_MODEL_FINAL", str(my_model))
    assert model_sync.register_environment(context.store, Path("unused")) == ["env-final"]
    assert model_sync.register_environment(context.store, Path("unused")) == []
    change_a_weight(my_model)
    with caplog.at_level(logging.INFO, logger="workers.model_sync"):
        assert model_sync.register_environment(context.store, Path("x")) == ["env-final"]
    assert "as model 'env-final' (revision 2" in caplog.text
    answer = list_models(context.store)
    assert answer["tiers"]["final"] == "env-final"
    assert answer["items"][0]["previous_weights_hashes"] != []


def test_a_single_file_checkpoint_is_registered_by_its_family(
        data_dir: Path, tmp_path: Path) -> None:
    import torch

    checkpoint = tmp_path / "house-xl.safetensors"
    save_file({"conditioner.embedders.1.model.ln_final.weight": torch.ones(4),
               "model.diffusion_model.input_blocks.0.0.weight": torch.ones(4)}, checkpoint)
    assert main(["models", "add", "house-xl", str(checkpoint), "--tier", "final"]) == 0
    services = build_services(Settings.from_env())
    try:
        (entry,) = list_models(services.store)["items"]
    finally:
        services.close()
    assert (entry["family"], entry["pipeline_class"]) == ("sdxl", "single-file checkpoint")
    assert entry["files"] == [{"path": "house-xl.safetensors", "sha256":
                               hashlib.sha256(checkpoint.read_bytes()).hexdigest()}]
    assert pipelines.upscale_method(str(checkpoint)) == pipelines.UPSCALE_BY_IMG2IMG
    # Loading one needs the family's diffusers config in the local cache: without it the
    # step is refused with the reason, not crashed.
    with pytest.raises(models.ModelUnavailable, match="could not be loaded"):
        pipelines.get_pipeline("txt2img", str(checkpoint))
    odd = tmp_path / "odd.safetensors"
    save_file({"weight": torch.ones(2)}, odd)
    with pytest.raises(models.ModelUnavailable, match="convert it to a diffusers folder"):
        pipelines.get_pipeline("txt2img", str(odd))


@pytest.fixture
def single_file(data_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The tiny SD model as one original-layout checkpoint, and a folder holding only its
    diffusers configuration (no weights), as a model site's config repo would."""
    folder = models.ensure_builtin(data_dir, "txt2img")
    checkpoint = write_single_file(folder, tmp_path / "tiny-sd.safetensors")
    config = tmp_path / "tiny-sd-config"
    shutil.copytree(folder, config, ignore=shutil.ignore_patterns("*.safetensors"))
    return checkpoint, config


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def test_a_single_file_checkpoint_with_a_local_config_renders_as_its_diffusers_model(
        context: JobContext, single_file: tuple[Path, Path],
        capsys: pytest.CaptureFixture) -> None:
    checkpoint, config = single_file
    assert main(["models", "add", "tiny-file", str(checkpoint)]) == 0
    assert "loading it needs --config DIR" in capsys.readouterr().out
    model_sync.refresh(context.store)
    with pytest.raises(models.ModelUnavailable, match=r"register it with `lineage models add "
                                                      r"NAME .*tiny-sd.safetensors --config DIR`"):
        pipelines.get_pipeline("txt2img", str(checkpoint))

    assert main(["models", "add", "tiny-file", str(checkpoint), "--config", str(config)]) == 0
    assert f"configuration from {config}" in capsys.readouterr().out
    model_sync.refresh(context.store)
    pipelines.clear_cache()
    recipe = tiny_recipe(seed=4, model="tiny-file")
    from_file = run_step(recipe)

    assert from_file.recipe["model_id"] == str(checkpoint)
    assert from_file.recipe["model_name"] == "tiny-file"
    assert from_file.recipe["model_weights_hash"] == models.weights_hash(checkpoint)
    assert pixels(from_file.png) == pixels(run_step({**recipe, "model": "builtin:tiny"}).png)
    assert run_step(from_file.recipe).png == from_file.png  # rebuild: bit-exact
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    match = find_model_by_hash(sha[:10])  # what A1111 prints as "Model hash"
    assert match is not None and (match.spec, match.matched) == (
        str(checkpoint), "checkpoint:tiny-sd.safetensors")


def test_a_config_folder_with_weights_joins_the_hash_and_a_wrong_one_is_refused(
        data_dir: Path, single_file: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    checkpoint, _ = single_file
    full = models.ensure_builtin(data_dir, "txt2img")
    assert main(["models", "add", "tiny-file", str(checkpoint), "--config", str(full)]) == 0
    services = build_services(Settings.from_env())
    try:
        (entry,) = list_models(services.store)["items"]
    finally:
        services.close()
    assert entry["config"] == str(full) and entry["family"] == "sd"
    assert entry["weights_hash"] == models.single_file_weights_hash(checkpoint, full)
    assert entry["weights_hash"] != models.weights_hash(checkpoint)
    assert "config/unet/diffusion_pytorch_model.safetensors" in {f["path"]
                                                                 for f in entry["files"]}
    capsys.readouterr()

    xl = models.ensure_builtin(data_dir, "sdxl")
    assert main(["models", "add", "other", str(checkpoint), "--config", str(xl)]) == 2
    assert ("tiny-sd.safetensors is a sd checkpoint but " f"{xl} holds a sdxl model "
            "(StableDiffusionXLPipeline); --config must name a diffusers folder of the same "
            "family") in capsys.readouterr().err
    assert main(["models", "add", "other", str(checkpoint), "--config", str(data_dir)]) == 2
    assert "is not a diffusers folder (no model_index.json)" in capsys.readouterr().err
