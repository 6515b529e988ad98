"""Re-render an imported image here: an image made on the built-in model, exported in the
layouts other tools write (A1111 `parameters`; a ComfyUI graph whose prompt a dynamic-
prompt node builds, beside a saver's `parameters` chunk), uploaded back as an import, and
rebuilt: the model is found by the hash the file prints and the verdict is the usual one.
ComfyUI's 64-bit seeds re-render whole; LoRAs the file names are applied at their
recorded weights when a registered adapter has them, else named as missing; an SDXL
refiner pass re-runs on the refiner its hash names; a registered single-file checkpoint
is found by its file's hash. Also the
hash lookup itself (full, short and legacy hashes of a single-file checkpoint).
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from safetensors.torch import load_file, save_file

from commands.models import register_model
from commands.uploads import upload_version
from commands.users import Principal
from events.store import EventStore, Metadata
from imaging.blobs import BlobStore
from interchange.png_metadata import format_a1111_parameters
from tests.integration.jobs_support import new_project
from tests.integration.rebuild_support import run_one
from tests.integration.single_file_support import write_single_file
from workers import model_hashes, model_sync, models, pipelines
from workers.builtin.tiny_lora import make_tiny_lora
from workers.job_runner import JobContext
from workers.model_files import inspect_model
from workers.rebuild import rebuild_report

PROMPT = "a lighthouse on a cliff at dusk"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("rerender-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(path))
        for name in ("DRAFT", "FINAL", "INPAINT", "UPSCALE", "DEFAULT"):
            patch.delenv(f"LINEAGE_MODEL_{name}", raising=False)
        patch.delenv("LINEAGE_TORCH_THREADS", raising=False)
        yield path


@pytest.fixture
def made(store: EventStore, tmp_path: Path, data_dir: Path):
    """A generation on the default built-in model: (context, user, asset, version, png)."""
    user_id = "u-" + os.urandom(4).hex()
    project_id, asset_id = new_project(store, user_id)
    context = JobContext(store, BlobStore(tmp_path / "blobs"))
    version = run_one(context, project_id, asset_id, user_id,
                      {"operation": "generate", "prompt": PROMPT, "seed": 77, "steps": 3,
                       "width": 64, "height": 64, "scheduler": "EulerDiscreteScheduler"})
    return context, user_id, asset_id, version, context.blobs.get(version.content_hash)


def as_other_tool(png: bytes, chunks: dict[str, str]) -> bytes:
    """The same pixels, with only another tool's text chunks (as that tool saves them)."""
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def import_png(context: JobContext, user_id: str, asset_id: str, png: bytes) -> dict:
    body, _, _ = upload_version(
        context.store, context.blobs,
        Principal(user_id=user_id, name="Ada", is_admin=False, token_id="t"),
        Metadata(actor_id=user_id), asset_id, png, max_pixels=1 << 20)
    return body


def test_an_a1111_export_of_a_lineage_image_re_renders_pixel_equal(store, made) -> None:
    context, user_id, asset_id, version, png = made
    parameters = format_a1111_parameters(version.recipe)
    assert "Sampler: EulerDiscreteScheduler" in parameters

    body = import_png(context, user_id, asset_id, as_other_tool(png, {"parameters":
                                                                        parameters}))
    assert body["imported"]["rebuildable"] is True

    report = rebuild_report(store, context.blobs, body["version_id"])

    [step] = report["steps"]
    assert step["source"] == "rerendered"
    assert step["verdict"] == "pixel_equal"  # same pixels; the file's chunks differ
    assert report["verdict"] == "pixel_equal"
    rerender = step["rerender"]
    assert rerender["model_id"] == pipelines.default_spec()
    assert rerender["matched"] == "folder"
    assert rerender["model_hash"] == version.recipe["model_weights_hash"][:10]
    assert rerender["recipe"]["seed"] == 77 and rerender["recipe"]["steps"] == 3


def test_a_comfyui_image_whose_prompt_is_built_at_run_time_re_renders_here(
        store, made) -> None:
    context, user_id, asset_id, version, png = made
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sketch.ckpt"}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": ["20", 0], "height": ["20", 0], "batch_size": 1}},
        "20": {"class_type": "SimpleMath+", "inputs": {"value": "a*64", "a": 1}},
        "9": {"class_type": "DPRandomGenerator",
              "inputs": {"text": "a {lighthouse|windmill} on a cliff at dusk", "seed": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["9", 0], "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": 77, "steps": 3, "cfg": version.recipe["guidance"], "sampler_name": "euler",
            "scheduler": "normal", "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0],
            "negative": ["7", 0], "latent_image": ["5", 0]}},
    }
    saver = (f"{PROMPT}\nSteps: 3, Sampler: euler, CFG scale: {version.recipe['guidance']}, "
             f"Seed: 77, Size: 64x64, Model hash: {version.recipe['model_weights_hash'][:10]}, "
             "Model: sketch, Version: ComfyUI")

    body = import_png(context, user_id, asset_id,
                      as_other_tool(png, {"prompt": json.dumps(graph), "parameters": saver}))

    imported = body["imported"]
    assert imported["tool"] == "comfyui"
    assert imported["merged"]["filled"] == {"parameters": ["prompt", "width", "height",
                                                           "model_hash"]}
    assert imported["recipe"]["prompt"] == PROMPT
    report = rebuild_report(store, context.blobs, body["version_id"])
    [step] = report["steps"]
    assert (step["source"], step["verdict"]) == ("rerendered", "pixel_equal")
    assert step["rerender"]["recipe"]["scheduler"] == "EulerDiscreteScheduler"


def test_a_comfyui_seed_wider_than_32_bits_re_renders_as_comfyui_seeds_torch(
        store, made) -> None:
    context, user_id, asset_id, version, png = made
    seed = 2**50 + 77  # torch's CPU generator draws from the low 32 bits, in ComfyUI too
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sketch.ckpt"}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": PROMPT, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": 3, "cfg": version.recipe["guidance"],
            "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
            "latent_image": ["5", 0]}},
    }
    saver = (f"{PROMPT}\nSteps: 3, Sampler: euler, CFG scale: {version.recipe['guidance']}, "
             f"Seed: {seed}, Size: 64x64, "
             f"Model hash: {version.recipe['model_weights_hash'][:10]}, Model: sketch")

    body = import_png(context, user_id, asset_id,
                      as_other_tool(png, {"prompt": json.dumps(graph), "parameters": saver}))

    assert body["imported"]["recipe"]["seed"] == seed and body["imported"]["rebuildable"]
    [step] = rebuild_report(store, context.blobs, body["version_id"])["steps"]
    assert (step["source"], step["verdict"]) == ("rerendered", "pixel_equal")
    assert step["rerender"]["recipe"]["seed"] == seed  # recorded whole, never truncated


@pytest.fixture
def ink(store: EventStore, data_dir: Path, tmp_path: Path) -> Path:
    """The tiny SDXL model and a tiny LoRA for it, registered as "tiny-xl" and "ink"."""
    lora = make_tiny_lora(models.build_pipeline("sdxl"), tmp_path / "ink", "ink")
    for name, spec in (("tiny-xl", "builtin:tiny-sdxl"), ("ink", str(lora))):
        register_model(store, Metadata(actor_id="test"), inspect_model(spec, data_dir), name)
    model_sync.refresh(store)
    return lora


def addnet_hash(path: Path) -> str:
    """The hash A1111 prints for a safetensors LoRA: SHA-256 after the header."""
    data = path.read_bytes()
    return hashlib.sha256(data[8 + int.from_bytes(data[:8], "little"):]).hexdigest()


def test_registered_adapters_carry_every_hash_tools_print_for_them(
        store, ink, tmp_path: Path, data_dir: Path) -> None:
    tagged = tmp_path / "tagged.safetensors"
    save_file(load_file(ink), tagged, metadata={"sshs_model_hash": "FEEDFACE" * 8})
    register_model(store, Metadata(actor_id="test"), inspect_model(str(tagged), data_dir),
                   "tagged")
    model_sync.refresh(store)

    refs = {ref.name: ref for ref in model_hashes.registered_adapters()}

    sha = hashlib.sha256(ink.read_bytes()).hexdigest()
    assert refs["ink"].hashes == (sha, addnet_hash(ink))
    assert refs["ink"].file_name == ink.name and refs["ink"].weights_hash == sha
    assert refs["tagged"].hashes[1:] == (addnet_hash(ink), "feedface" * 8)  # same tensors


def test_an_a1111_image_with_a_lora_re_renders_with_the_registered_adapter(
        store, made, ink) -> None:
    context, user_id, asset_id, _, _ = made
    project_id = new_project(store, user_id)[0]
    version = run_one(context, project_id, asset_id, user_id, {
        "operation": "generate", "model": "tiny-xl", "prompt": PROMPT, "seed": 5,
        "steps": 3, "width": 64, "height": 64, "scheduler": "EulerDiscreteScheduler",
        "loras": [{"name": "ink", "scale": 0.8}]})
    parameters = format_a1111_parameters(
        {**version.recipe, "prompt": f"{PROMPT} <lora:pytorch_lora_weights:0.8>"})
    parameters += f', Lora hashes: "pytorch_lora_weights: {addnet_hash(ink)[:12]}"'

    body = import_png(context, user_id, asset_id,
                      as_other_tool(context.blobs.get(version.content_hash),
                                    {"parameters": parameters}))

    assert body["imported"]["loras"][0]["weight"] == 0.8
    [step] = rebuild_report(store, context.blobs, body["version_id"])["steps"]
    assert (step["source"], step["verdict"]) == ("rerendered", "pixel_equal")
    assert step["rerender"]["recipe"]["loras"] == [
        {"name": "ink", "scale": 0.8, "weights_hash": hashlib.sha256(
            ink.read_bytes()).hexdigest()}]
    assert step["rerender"]["recipe"]["prompt"] == PROMPT


def test_a_lora_no_registered_adapter_has_is_named_and_nothing_is_re_rendered(
        store, made, ink) -> None:
    context, user_id, asset_id, version, png = made
    parameters = format_a1111_parameters(
        {**version.recipe, "prompt": f"{PROMPT} <lora:sepia:1>"})
    parameters += ', Lora hashes: "sepia: 0123456789ab"'

    body = import_png(context, user_id, asset_id, as_other_tool(png, {"parameters":
                                                                        parameters}))

    [step] = rebuild_report(store, context.blobs, body["version_id"])["steps"]
    assert (step["source"], step["verdict"]) == ("blob_store", "bit_exact")
    assert step["rerender"]["possible"] is False
    assert step["rerender"]["reasons"] == [
        "LoRA 'sepia' (hash 0123456789ab) is not a registered adapter here; register its "
        "file with `lineage models add NAME FILE`"]


@pytest.fixture
def refiner(store: EventStore, data_dir: Path, tmp_path: Path, ink: Path) -> Path:
    """A second tiny SDXL model (other UNet weights), registered as "tiny-xl-refiner"."""
    folder = tmp_path / "refiner"
    shutil.copytree(models.ensure_builtin(data_dir, "sdxl"), folder)
    unet = folder / "unet" / "diffusion_pytorch_model.safetensors"
    save_file({name: value * 1.1 for name, value in load_file(unet).items()}, unet)
    register_model(store, Metadata(actor_id="test"), inspect_model(str(folder), data_dir),
                   "tiny-xl-refiner")
    model_sync.refresh(store)
    return folder


def test_an_a1111_sdxl_image_with_a_refiner_re_renders_with_that_refiner(
        store, made, refiner) -> None:
    context, user_id, asset_id, _, _ = made
    version = run_one(context, new_project(store, user_id)[0], asset_id, user_id, {
        "operation": "generate", "model": "tiny-xl", "prompt": PROMPT, "seed": 5,
        "steps": 4, "width": 64, "height": 64, "scheduler": "EulerDiscreteScheduler",
        "refiner": {"model": "tiny-xl-refiner", "switch_at": 0.5}})
    parameters = format_a1111_parameters(version.recipe)
    assert (f"Refiner: tiny-xl-refiner [{models.weights_hash(refiner)[:10]}], "
            "Refiner switch at: 0.5") in parameters

    body = import_png(context, user_id, asset_id,
                      as_other_tool(context.blobs.get(version.content_hash),
                                    {"parameters": parameters}))

    [step] = rebuild_report(store, context.blobs, body["version_id"])["steps"]
    assert (step["source"], step["verdict"]) == ("rerendered", "pixel_equal")
    assert step["rerender"]["recipe"]["refiner"] == {
        "model_id": str(refiner), "model_name": "tiny-xl-refiner", "switch_at": 0.5,
        "model_weights_hash": models.weights_hash(refiner)}
    unknown = parameters.replace(models.weights_hash(refiner)[:10], "0123456789")
    body = import_png(context, user_id, asset_id,
                      as_other_tool(context.blobs.get(version.content_hash),
                                    {"parameters": unknown}))
    [step] = rebuild_report(store, context.blobs, body["version_id"])["steps"]
    assert step["rerender"]["reasons"] == [
        "no local model has the refiner's weights (hash 0123456789)"]


def test_an_a1111_image_of_a_single_file_checkpoint_re_renders_by_the_files_hash(
        store, made, tmp_path: Path, data_dir: Path) -> None:
    context, user_id, asset_id, _, _ = made
    folder = models.ensure_builtin(data_dir, "txt2img")
    checkpoint = write_single_file(folder, tmp_path / "tiny-sd.safetensors")
    config = tmp_path / "config"
    shutil.copytree(folder, config, ignore=shutil.ignore_patterns("*.safetensors"))
    register_model(store, Metadata(actor_id="test"),
                   inspect_model(str(checkpoint), data_dir, config=str(config)), "tiny-file")
    model_sync.refresh(store)
    version = run_one(context, new_project(store, user_id)[0], asset_id, user_id, {
        "operation": "generate", "model": "tiny-file", "prompt": PROMPT, "seed": 5,
        "steps": 3, "width": 64, "height": 64, "scheduler": "EulerDiscreteScheduler"})
    file_hash = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    parameters = format_a1111_parameters(version.recipe).replace(
        version.recipe["model_weights_hash"][:10], file_hash[:10])  # as A1111 prints it

    body = import_png(context, user_id, asset_id,
                      as_other_tool(context.blobs.get(version.content_hash),
                                    {"parameters": parameters}))

    [step] = rebuild_report(store, context.blobs, body["version_id"])["steps"]
    assert (step["source"], step["verdict"]) == ("rerendered", "pixel_equal")
    assert step["rerender"]["matched"] == "checkpoint:tiny-sd.safetensors"
    assert step["rerender"]["model_id"] == str(checkpoint)


def test_an_import_no_local_model_matches_stays_a_source_and_says_why(store, made) -> None:
    context, user_id, asset_id, _, png = made
    parameters = (f"{PROMPT}\nSteps: 3, Sampler: Euler, CFG scale: 7, Seed: 77, "
                  "Size: 64x64, Model hash: 45a21ea00a, Model: waiIllustriousSDXL_v160")

    body = import_png(context, user_id, asset_id, as_other_tool(png, {"parameters":
                                                                        parameters}))
    report = rebuild_report(store, context.blobs, body["version_id"])

    [step] = report["steps"]
    assert (step["source"], step["verdict"]) == ("blob_store", "bit_exact")
    assert step["rerender"]["possible"] is False
    assert step["rerender"]["reasons"] == [
        f"no local model has weights with hash 45a21ea00a (looked at "
        f"{pipelines.default_spec()})"]


def test_find_model_by_hash_matches_a_checkpoints_full_short_and_legacy_hashes(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "my-model"
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"u" * 1000)
    checkpoint = bytes(range(256)) * 5000  # 1.28 MB: past A1111's legacy window
    (folder / "my-model.safetensors").write_bytes(checkpoint)
    monkeypatch.setenv("LINEAGE_MODEL_FINAL", str(folder))
    full = hashlib.sha256(checkpoint).hexdigest()
    legacy = hashlib.sha256(checkpoint[0x100000:0x110000]).hexdigest()[:8]

    for value, how in ((full, "checkpoint:my-model.safetensors"),
                       (full[:10].upper(), "checkpoint:my-model.safetensors"),
                       (f"sha256:{full[:12]}", "checkpoint:my-model.safetensors"),
                       (legacy, "legacy:my-model.safetensors"),
                       (models.weights_hash(folder)[:10], "folder")):
        match = model_hashes.find_model_by_hash(value)
        assert match is not None and match.spec == str(folder) and match.matched == how
        assert match.weights_hash == models.weights_hash(folder)
    assert model_hashes.find_model_by_hash(full[:9]) is None
    assert model_hashes.find_model_by_hash("0" * 10) is None
