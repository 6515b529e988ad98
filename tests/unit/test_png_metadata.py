"""PNG metadata import/export: the real-file corpus, hostile files, and round trips.

The corpus lives beside the clone (../shared/fixtures/import-corpus) and is read in
place: without it those tests skip (fail under CI=true) and the rest run. Hostile files are
built here, either with Pillow's PngInfo or chunk by chunk.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from interchange.png_metadata import (
    ImportedMetadata,
    format_a1111_parameters,
    parse_generation_metadata,
    read_text_chunks,
)
from tests.conftest import SHARED_DIR, shared_missing

CORPUS = SHARED_DIR / "fixtures" / "import-corpus"
MIB = 1 << 20


def corpus_dir() -> Path:
    """The corpus folder; skips the test (fails it under CI=true) when it is absent."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        shared_missing(CORPUS)
    return CORPUS


def corpus(name: str) -> bytes:
    return (corpus_dir() / name).read_bytes()


# --- building PNGs ----------------------------------------------------------------------

def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


IHDR = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))  # 1x1 greyscale
IDAT = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
IEND = chunk(b"IEND", b"")


def raw_png(*text_chunks: bytes, after_idat: tuple[bytes, ...] = ()) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + IHDR + b"".join(text_chunks) + IDAT + b"".join(after_idat) + IEND


def text(key: str, value: str | bytes) -> bytes:
    data = value.encode("latin-1") if isinstance(value, str) else value
    return chunk(b"tEXt", key.encode("latin-1") + b"\0" + data)


def ztxt(key: str, compressed: bytes) -> bytes:
    return chunk(b"zTXt", key.encode("latin-1") + b"\0\0" + compressed)


def itxt(key: str, value: str, *, compressed: bytes | None = None) -> bytes:
    flag, payload = (b"\1\0", compressed) if compressed is not None else (b"\0\0",
                                                                            value.encode())
    return chunk(b"iTXt", key.encode("latin-1") + b"\0" + flag + b"\0\0" + payload)


def pillow_png(entries: dict[str, str], *, zip_: bool = False, itxt_: bool = False) -> bytes:
    info = PngInfo()
    for key, value in entries.items():
        if itxt_:
            info.add_itxt(key, value, zip=zip_)
        else:
            info.add_text(key, value, zip=zip_)
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def bomb(size: int) -> bytes:
    """zlib data that inflates to `size` bytes of zeros (about 1000:1)."""
    compressor = zlib.compressobj(9)
    block = b"\0" * MIB
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    return b"".join(parts) + compressor.flush()


def comfy_graph(**sampler_inputs: object) -> str:
    inputs = {"seed": 5, "steps": 20, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
              "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
              "latent_image": ["5", 0]}
    inputs.update(sampler_inputs)
    return json.dumps({
        "3": {"class_type": "KSampler", "inputs": inputs},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 640}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
    })


def parse(png: bytes) -> ImportedMetadata:
    result = parse_generation_metadata(png)
    assert result is not None
    assert_json_safe(result.recipe)
    return result


def assert_json_safe(recipe: dict) -> None:
    """Recipe values are JSON primitives, finite, bounded; extra is str → str."""
    json.dumps(recipe, allow_nan=False)
    for key, value in recipe.items():
        if key == "extra":
            assert all(isinstance(k, str) and isinstance(v, str) and len(v) <= 2000
                       for k, v in value.items())
            assert len(value) <= 64
        elif isinstance(value, float):
            assert math.isfinite(value)
        elif isinstance(value, int):
            assert not isinstance(value, bool) and 0 <= value < 2**64
        else:
            assert isinstance(value, str) and "\0" not in value and len(value) <= 10_000


def warned(result: ImportedMetadata | list[str], *needles: str) -> bool:
    warnings = result.warnings if isinstance(result, ImportedMetadata) else result
    joined = "\n".join(warnings).lower()
    return all(needle.lower() in joined for needle in needles)


# --- the corpus --------------------------------------------------------------------------

JA_PROMPT = "general, masterpiece, best quality, amazing quality, \n1girl, solo, hatsune miku, "
JA_NEGATIVE = "bad quality, worst quality, worst detail, sketch, censor,"

# file → (tool, tool_version, exact recipe fields, prompt start, extra subset, warnings)
EXPECTED: dict[str, tuple] = {
    "a1111_v1.10.1_txt2img_ja_itxt.png": (
        "automatic1111", "v1.10.1",
        {"operation": "generate", "prompt": JA_PROMPT + "テスト", "negative_prompt": JA_NEGATIVE,
         "seed": 3782896554, "steps": 20, "sampler": "DPM++ 2M", "scheduler": "Karras",
         "guidance": 7.0, "width": 1024, "height": 1024, "model_hash": "45a21ea00a",
         "model_name": "waiIllustriousSDXL_v160"},
        None, {}, []),
    "a1111_v1.6.0_img2img-inpaint_lora.png": (
        "automatic1111", "v1.6.0-372-g8aa51f68",
        {"operation": "img2img", "seed": 1157152124, "steps": 8, "sampler": "LCM",
         "guidance": 1.5, "width": 512, "height": 768, "strength": 0.75,
         "model_hash": "b42b09ff12", "model_name": "cetusMix_v4"},
        "<lora:lcm_lora_sd15:1>,(masterpiece: 1.3)",
        {"Clip skip": "2", "Lora hashes": "lcm_lora_sd15: aaebf6360f7d"}, []),
    "a1111_v1.8.0_hires_no-negative-line.png": (
        "automatic1111", "v1.8.0",
        {"operation": "generate", "negative_prompt": "", "seed": 948010118, "steps": 30,
         "sampler": "Euler a", "guidance": 7.0, "width": 832, "height": 1216,
         "model_hash": "5c270492b6", "model_name": "Poltergeist-Illustrious-Alpha.fp16"},
        "1boy, male focus, solo",
        # hires denoise is not an img2img strength, so it stays in extra
        {"Denoising strength": "0.4", "Hires upscale": "1.5", "Hires steps": "20",
         "VAE": "sdxl_vae.safetensors"}, []),
    "forge_f2.0.1_txt2img_ja_itxt_rgba.png": (
        "forge", "f2.0.1v1.10.1-previous-669-gdfdcbab6",
        {"operation": "generate", "prompt": JA_PROMPT + "テスト", "negative_prompt": JA_NEGATIVE,
         "seed": 747066619, "steps": 25, "sampler": "Euler", "scheduler": "Karras",
         "guidance": 5.0, "width": 1024, "height": 1024, "model_name": "waiIllustriousSDXL_v160"},
        None, {}, []),
    "comfyui_examples_lcm_loraloader.png": (
        "comfyui", None,
        {"operation": "generate", "seed": 167055194337639, "steps": 5, "guidance": 1.8,
         "sampler": "lcm", "scheduler": "sgm_uniform", "width": 1024, "height": 1024,
         "prompt": "evening sunset scenery blue sky nature, glass bottle with a galaxy in it",
         "negative_prompt": "text, watermark", "model_name": "sd_xl_1.0.safetensors"},
        None, {"loras": "lcm_lora_sdxl.safetensors:1.0", "comfyui_sampler_node": "3 (KSampler)"},
        []),
    "comfyui_examples_cascade_img2img_two-samplers.png": (
        "comfyui", None,
        {"operation": "img2img", "strength": 0.6, "seed": 321653652654528, "steps": 20,
         "guidance": 4.0, "sampler": "euler_ancestral", "scheduler": "simple",
         "negative_prompt": "text, watermark",
         "model_name": "stable_cascade_stage_c.safetensors"},
        "evening sunset scenery blue sky nature, glass bottle with a fizzy",
        {"comfyui_sampler_node": "3 (KSampler)", "comfyui_other_samplers": "33"},
        ["2 sampler nodes"]),
    "comfyui_examples_hiresfix-2pass_SCREENSHOT.png": (
        "comfyui", None,
        {"operation": "generate", "seed": 89848141647836, "steps": 12, "guidance": 8.0,
         "sampler": "dpmpp_sde", "scheduler": "normal", "width": 768, "height": 768,
         "negative_prompt": "bad hands, text, watermark\n",
         "model_name": "v2-1_768-ema-pruned.ckpt"},
        "masterpiece HDR victorian portrait painting of woman",
        {"comfyui_other_samplers": "11"}, ["2 sampler nodes"]),
    "comfyui_group-nodes_ja.png": (
        "comfyui", "frontend 1.37.11",
        {"operation": "generate", "seed": 1038684211150939, "steps": 20, "guidance": 5.0,
         "sampler": "euler_ancestral", "scheduler": "karras", "width": 1024, "height": 1024,
         "prompt": JA_PROMPT + "テスト, ", "negative_prompt": JA_NEGATIVE + " \n",
         "model_name": "waiIllustriousSDXL_v160.safetensors"},
        None, {"comfyui_sampler_node": "4:4 (KSampler)"}, []),
    # The graph wins over the saver's placeholder `parameters` (prompt "unknown", 512x512).
    "comfyui_image-saver_parameters+prompt+workflow.png": (
        "comfyui", "frontend 1.34.9",
        {"operation": "generate", "seed": 106744160813738, "steps": 20, "guidance": 5.0,
         "sampler": "euler_ancestral", "scheduler": "karras", "width": 1024, "height": 1024,
         "prompt": JA_PROMPT, "negative_prompt": JA_NEGATIVE + " \n",
         "model_name": "waiIllustriousSDXL_v160.safetensors"},
        None, {"comfyui_sampler_node": "Sampler (KSampler)"},
        ["disagrees with the ComfyUI graph on prompt, negative_prompt, seed"]),
    # Seed and size are computed at run time and the prompts are wildcard templates.
    "comfyui_NaN-in-prompt_groupnodes_wildcards.png": (
        "comfyui", None,
        {"operation": "generate", "steps": 30, "guidance": 2.5, "sampler": "euler",
         "scheduler": "normal",
         "model_name": "FLUX1\\colossusProjectFlux_21DeDistilledFP8UNET.safetensors"},
        None,
        {"comfyui_sampler_node": "152 (KSamplerAdvanced //Inspire)",
         "negative_prompt_template": "photograph, smooth shading, {vaporwave,|} "
                                     "{sharp details, |} {realistic, |} {muted colors|}"},
        ["NaN", "seed is computed", "image size is computed", "dynamic-prompt"]),
    "invokeai_v1_dream-only_variation-seeds.png": (
        "invokeai", None,
        {"operation": "generate", "seed": 3357757885, "steps": 50, "guidance": 7.5,
         "width": 512, "height": 512, "sampler": "k_lms",
         "prompt": "lucy lawless as xena, warrior princess, character portrait, high resolution"},
        None, {"with_variations": "3647897225,0.1;1614299449,0.1;3747154981,0.05",
               "invokeai_format": "Dream"}, ["variation seeds"]),
    "invokeai_v1.15-lstein_img2img_dream+sdmeta.png": (
        "invokeai", "v1.15",
        {"operation": "img2img", "prompt": "fire", "seed": 1592514025, "steps": 10,
         "guidance": 7.5, "width": 384, "height": 384, "sampler": "ddim", "strength": 0.4,
         "model_name": "stable-diffusion-1.4",
         "model_hash": "fe4efff1e174c627256e44ec2991ba279b3816e364b49f9be2abc0b3ff3f8556"},
        None, {"app_id": "lstein/stable-diffusion",
               "init_img": "outputs/img-samples/../../docs/assets/img2img/fire-drawing.png"}, []),
    "invokeai_v1.15-lstein_outcrop_sdmeta-only.png": (
        "invokeai", "v1.15",
        {"operation": "outpaint", "prompt": "pretty curly-haired redhead woman",
         "seed": 942491079, "steps": 50, "guidance": 7.5, "width": 512, "height": 512,
         "sampler": "k_lms", "model_name": "stable-diffusion-1.4"},
        None, {"invokeai_format": "sd-metadata"}, ["post-processed (outcrop)"]),
    "invokeai_v2.02_grid_sdmeta-images-array.png": (
        "invokeai", "v2.02",
        {"operation": "generate", "prompt": "banana sushi", "seed": 2028635318, "steps": 50,
         "guidance": 7.5, "width": 512, "height": 512, "sampler": "k_lms",
         "model_name": "stable diffusion",
         "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516"},
        None, {"grid_seeds": "2028635318, 1867233700, 3476285285", "app_id": "invoke-ai/InvokeAI"},
        ["grid of 3 images"]),
    # The metadata seed wins; the graph's noise node holds a stale literal (3551665322).
    "invokeai_v3.0.2_metadata+graph_blend.png": (
        "invokeai", "3.0.2post1",
        {"operation": "generate", "prompt": '("blue sphere", "red cube").blend(0.25, 0.75)',
         "negative_prompt": "", "seed": 754100013, "steps": 15, "guidance": 7.5,
         "width": 512, "height": 512, "scheduler": "euler",
         "model_name": "stable-diffusion-v1-5"},
        None, {"model_base": "sd-1", "invokeai_format": "invokeai_metadata"}, []),
    "invokeai_v6.10.0_metadata+graph_ja_itxt.png": (
        "invokeai", "6.10.0",
        {"operation": "generate", "prompt": JA_PROMPT + "#テスト\n",
         "negative_prompt": JA_NEGATIVE + " \n", "seed": 3951921344, "steps": 24,
         "guidance": 6.0, "width": 1024, "height": 1024, "scheduler": "euler_a",
         "model_name": "waiIllustriousSDXL_v160",
         "model_hash": "blake3:7c1631b481e1566448f49db7e3b67a8a9d04742fa3c7d4548a0c81b619160c56"},
        None, {"model_base": "sdxl"}, []),
}


MISSING_ROW = {"file": "corpus-missing", "sha256": "", "text_chunks": "tEXt:missing"}
"""Stands in for the manifest's rows while collecting without the corpus, so the tests
that read it are collected and then skip (or fail under CI=true) instead of the whole
file failing to collect."""


def manifest() -> list[dict[str, str]]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.is_file():
        return [MISSING_ROW]
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:] if line]


def test_every_corpus_file_has_expectations_and_is_intact():
    on_disk = sorted(path.name for path in corpus_dir().glob("*.png"))
    assert on_disk == sorted(EXPECTED)
    for row in manifest():
        assert hashlib.sha256(corpus(row["file"])).hexdigest() == row["sha256"], row["file"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_yields_its_recipe(name):
    tool, version, fields, prompt_start, extra, warnings = EXPECTED[name]
    result = parse(corpus(name))
    assert (result.tool, result.tool_version) == (tool, version)
    for key, value in fields.items():
        assert result.recipe.get(key) == value, key
    if prompt_start is not None:
        assert result.recipe["prompt"].startswith(prompt_start)
    assert extra.items() <= result.recipe["extra"].items()
    for needle in warnings:
        assert warned(result, needle), (needle, result.warnings)
    if not warnings:
        assert result.warnings == []


def test_wildcard_prompts_are_not_passed_off_as_final_text():
    recipe = parse(corpus("comfyui_NaN-in-prompt_groupnodes_wildcards.png")).recipe
    assert "prompt" not in recipe and "negative_prompt" not in recipe and "seed" not in recipe
    assert recipe["extra"]["prompt_template"].startswith("hyperreal photograph, {__test2_")


@pytest.mark.parametrize("row", manifest(), ids=lambda row: row["file"])
def test_chunk_reader_finds_the_manifest_keys_and_matches_pillow(row):
    values, warnings = read_text_chunks(corpus(row["file"]))
    assert warnings == []
    expected_keys = {entry.split(":", 1)[1] for entry in row["text_chunks"].split(";")}
    assert set(values) == expected_keys
    with Image.open(corpus_dir() / row["file"]) as image:
        image.load()  # text after IDAT is only read with the pixels
        assert values == image.text


def test_comfyui_workflow_alone_gives_the_same_recipe_as_the_prompt_graph():
    values, _ = read_text_chunks(corpus("comfyui_examples_lcm_loraloader.png"))
    from_prompt = parse(corpus("comfyui_examples_lcm_loraloader.png")).recipe
    result = parse(raw_png(text("workflow", values["workflow"])))
    assert result.tool == "comfyui" and warned(result, "UI workflow")
    for key in ("seed", "steps", "guidance", "sampler", "scheduler", "prompt", "negative_prompt",
                "model_name", "width", "height", "operation"):
        assert result.recipe[key] == from_prompt[key], key


def test_comfyui_group_node_workflow_alone_warns_that_it_is_not_expanded():
    values, _ = read_text_chunks(corpus("comfyui_group-nodes_ja.png"))
    result = parse(raw_png(text("workflow", values["workflow"])))
    assert warned(result, "not expanded")
    assert result.recipe["steps"] == 20 and "prompt" not in result.recipe


def test_invokeai_graph_supplies_a_prompt_missing_from_metadata():
    values, _ = read_text_chunks(corpus("invokeai_v6.10.0_metadata+graph_ja_itxt.png"))
    meta = json.loads(values["invokeai_metadata"])
    del meta["positive_prompt"], meta["seed"]
    png = raw_png(itxt("invokeai_metadata", json.dumps(meta)),
                  itxt("invokeai_graph", values["invokeai_graph"]))
    recipe = parse(png).recipe
    assert recipe["prompt"] == JA_PROMPT + "#テスト\n"
    assert recipe["seed"] == 3951921344


def test_invokeai_graph_alone_is_enough():
    values, _ = read_text_chunks(corpus("invokeai_v6.10.0_metadata+graph_ja_itxt.png"))
    result = parse(raw_png(itxt("invokeai_graph", values["invokeai_graph"])))
    assert result.tool == "invokeai"
    assert result.recipe["prompt"] == JA_PROMPT + "#テスト\n"
    assert result.recipe["negative_prompt"] == JA_NEGATIVE + " \n"
    assert (result.recipe["steps"], result.recipe["guidance"]) == (24, 6.0)
    assert result.recipe["model_name"] == "waiIllustriousSDXL_v160"


# --- chunk encodings ---------------------------------------------------------------------

PARAMS = ("a red fox\nNegative prompt: blurry\n"
          "Steps: 12, Sampler: Euler, CFG scale: 6, Seed: 9, Size: 64x96")


@pytest.mark.parametrize("build", [
    lambda: pillow_png({"parameters": PARAMS}),
    lambda: pillow_png({"parameters": PARAMS}, zip_=True),  # zTXt
    lambda: pillow_png({"parameters": PARAMS}, itxt_=True),
    lambda: pillow_png({"parameters": PARAMS}, itxt_=True, zip_=True),
    lambda: raw_png(after_idat=(text("parameters", PARAMS),)),
    lambda: raw_png(itxt("parameters", "x", compressed=zlib.compress(PARAMS.encode()))),
], ids=["tEXt", "zTXt", "iTXt", "iTXt-compressed", "after-IDAT", "raw-iTXt-compressed"])
def test_every_text_chunk_encoding_is_read(build):
    recipe = parse(build()).recipe
    assert (recipe["prompt"], recipe["seed"], recipe["width"], recipe["height"]) == (
        "a red fox", 9, 64, 96)


def test_text_is_utf8_first_then_latin1():
    utf8 = raw_png(text("parameters", "café ☕\nSteps: 1".encode()))
    latin1 = raw_png(text("parameters", "café\nSteps: 1".encode("latin-1")))
    assert parse(utf8).recipe["prompt"] == "café ☕"
    assert parse(latin1).recipe["prompt"] == "café"


def test_duplicate_keys_keep_the_first_value():
    png = raw_png(text("parameters", "first\nSteps: 1"), text("parameters", "second\nSteps: 2"))
    result = parse(png)
    assert result.recipe["prompt"] == "first" and warned(result, "duplicate")


def test_png_without_metadata_gives_none():
    assert parse_generation_metadata(pillow_png({})) is None
    assert parse_generation_metadata(raw_png(text("Software", "GIMP"))) is None


# --- hostile files -----------------------------------------------------------------------

def test_huge_text_chunk_is_skipped_with_a_warning():
    result = parse(raw_png(text("parameters", "a" * (MIB + 1))))
    assert result.tool == "automatic1111" and warned(result, "exceeds")
    assert result.recipe == {"extra": {}}


def test_total_text_is_capped():
    chunks = [text(f"k{i}", "v" * (MIB - 16)) for i in range(9)]
    values, warnings = read_text_chunks(raw_png(*chunks, text("parameters", "late\nSteps: 1")))
    assert len(values) == 8 and "parameters" not in values
    assert warned(warnings, "exceed")


@pytest.mark.parametrize("make", [
    lambda data: ztxt("parameters", data),
    lambda data: itxt("prompt", "", compressed=data),
], ids=["zTXt", "iTXt"])
def test_zlib_bomb_costs_little_memory(make):
    png = raw_png(make(bomb(200 * MIB)))
    tracemalloc.start()
    try:
        result = parse_generation_metadata(png)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result is not None and warned(result, "inflates past")
    assert peak < 8 * MIB


def test_corrupt_zlib_is_skipped():
    values, warnings = read_text_chunks(raw_png(ztxt("parameters", b"not zlib at all")))
    assert values == {} and warned(warnings, "corrupt zlib")


def test_truncated_png_keeps_text_read_before_the_cut():
    data = corpus("a1111_v1.6.0_img2img-inpaint_lora.png")
    result = parse(data[: len(data) // 2])
    assert result.recipe["seed"] == 1157152124 and warned(result, "truncated")
    values, warnings = read_text_chunks(data[:60])  # cut inside the parameters chunk
    assert values == {} and warned(warnings, "truncated")
    assert parse_generation_metadata(data[:60]) is None


def test_crc_error_stops_reading():
    good = text("parameters", "kept\nSteps: 3")
    bad = bytearray(text("prompt", "{}"))
    bad[-1] ^= 0xFF
    png = raw_png(good, bytes(bad), text("Dream", '"never read" -s 5'))
    result = parse(png)
    assert result.tool == "automatic1111" and result.recipe["prompt"] == "kept"
    assert warned(result, "CRC mismatch")


@pytest.mark.parametrize("data", [b"", b"GIF89a...", b"\x89PNG\r\n\x1a", "not bytes", None,
                                  b"\x89PNG\r\n\x1a\n" + b"\xff" * 40])
def test_non_png_input_gives_none_and_a_reason(data):
    assert parse_generation_metadata(data) is None
    values, warnings = read_text_chunks(data)
    assert values == {} and warnings


def test_empty_parameters_warn():
    result = parse(raw_png(text("parameters", "")))
    assert result.tool == "automatic1111" and warned(result, "empty")


def test_invalid_json_in_comfyui_prompt_warns():
    result = parse(raw_png(text("prompt", '{"3": {"class_type": "KSampler", ')))
    assert result.tool == "comfyui" and warned(result, "invalid JSON")


@pytest.mark.parametrize("key", ["prompt", "workflow", "invokeai_metadata", "invokeai_graph",
                                 "sd-metadata"])
def test_deeply_nested_json_is_refused_not_crashed(key):
    nested = "[" * 200_000 + "]" * 200_000
    result = parse(raw_png(text(key, nested)))
    assert warned(result, "nested too deeply")


@pytest.mark.parametrize("value", [[1, 2], 1.5, -5, 2**70, True, "abc", {"a": 1}, None],
                         ids=["list", "float", "negative", "huge", "bool", "text", "dict", "null"])
def test_unusable_comfyui_seed_is_left_out_with_a_warning(value):
    result = parse(raw_png(text("prompt", comfy_graph(seed=value))))
    assert "seed" not in result.recipe
    assert result.recipe["steps"] == 20 and result.recipe["prompt"] == "a cat"
    if value is not None:
        assert warned(result, "seed")


@pytest.mark.parametrize(("value", "expected"), [("123", 123), (7.0, 7)])
def test_convertible_seed_is_converted_with_a_warning(value, expected):
    result = parse(raw_png(text("prompt", comfy_graph(seed=value))))
    assert result.recipe["seed"] == expected and warned(result, "seed given as")


def test_nan_and_bad_types_in_comfyui_json():
    graph = comfy_graph(cfg=float("nan"), steps="abc", sampler_name=["x"], denoise=float("inf"))
    result = parse(raw_png(text("prompt", graph)))
    assert "guidance" not in result.recipe and "steps" not in result.recipe
    assert "sampler" not in result.recipe and "extra" in result.recipe
    assert "denoise" not in result.recipe["extra"]  # inf was read as null, not stored
    assert warned(result, "2 non-standard constant(s) (NaN)", "steps 'abc' is not an integer",
                  "sampler is a list")


@pytest.mark.parametrize("meta", [
    {"positive_prompt": ["not", "text"], "seed": [1], "steps": "abc", "cfg_scale": "NaN",
     "width": -1, "height": 10**9, "model": 5},
    {"positive_prompt": "ok", "seed": float("nan"), "steps": 1e400},
    [1, 2, 3],
    "just a string",
])
def test_invokeai_metadata_with_wrong_types(meta):
    result = parse(raw_png(text("invokeai_metadata", json.dumps(meta))))
    assert result.tool == "invokeai" and result.warnings
    assert "seed" not in result.recipe and "steps" not in result.recipe


def test_json_nan_in_invokeai_metadata_is_read_as_null():
    result = parse(raw_png(text("invokeai_metadata", '{"seed": NaN, "steps": Infinity, '
                                                     '"positive_prompt": "x"}')))
    assert result.recipe["prompt"] == "x" and "seed" not in result.recipe
    assert warned(result, "non-standard constant")


def test_sd_metadata_and_dream_with_wrong_types():
    meta = {"image": {"prompt": {"nope": 1}, "seed": "x", "width": [], "type": 5},
            "app_version": ["v"]}
    result = parse(raw_png(text("sd-metadata", json.dumps(meta)),
                           text("Dream", '"unbalanced -s abc -S -4 -W 99999999 -Ik_lms')))
    assert result.tool == "invokeai" and result.tool_version is None
    assert "seed" not in result.recipe and "steps" not in result.recipe
    assert warned(result, "unbalanced quotes")


def test_dream_glued_flags_and_huge_data_url():
    dream = ('"a castle" -s25 -S42 -W640 -H480 -C7 -Aeuler -I data:image/png;base64,'
             + "A" * 500_000 + " -f0.3")
    recipe = parse(raw_png(text("Dream", dream))).recipe
    assert recipe["prompt"] == "a castle" and recipe["operation"] == "img2img"
    assert (recipe["steps"], recipe["seed"]) == (25, 42)
    assert (recipe["width"], recipe["height"]) == (640, 480)
    assert (recipe["guidance"], recipe["sampler"], recipe["strength"]) == (7.0, "euler", 0.3)
    assert recipe["extra"]["init_img"] == "data:<omitted>"


def test_unicode_nul_and_lone_surrogates_are_made_storable():
    meta = {"positive_prompt": "emoji 🦊 \u202eRTL\u202c e\u0301 \ud800 nul\u0000 end",
            "negative_prompt": "ok"}
    result = parse(raw_png(itxt("invokeai_metadata", json.dumps(meta))))
    prompt = result.recipe["prompt"]
    assert prompt.startswith("emoji 🦊 \u202eRTL\u202c e\u0301 ") and prompt.endswith(" end")
    assert "\0" not in prompt and "\ud800" not in prompt
    prompt.encode("utf-8")
    assert warned(result, "surrogate")


def test_overlong_prompt_is_capped_with_a_warning():
    result = parse(pillow_png({"parameters": "x" * 20_000 + "\nSteps: 5"}))
    assert len(result.recipe["prompt"]) == 10_000 and warned(result, "cut to 10000")


def test_many_extra_settings_are_bounded():
    settings = ", ".join(f"Key{i}: {'v' * 50}" for i in range(200))
    result = parse(pillow_png({"parameters": f"p\nSteps: 5, {settings}"}))
    assert len(result.recipe["extra"]) == 64 and warned(result, "extra settings dropped")
    huge = parse(pillow_png({"parameters": "p\nSteps: 5, Key: " + "v" * 5000})).recipe
    assert len(huge["extra"]["Key"]) == 2000


@pytest.mark.parametrize("line", [
    "Steps: 20, " + "a, " * 300_000,
    "Steps: 20, " + "K: {" * 100_000,
    "Steps: 20, Template: \"" + "x" * 500_000,
    "Steps: 20, " + ", " * 500_000,
])
def test_hostile_settings_line_is_parsed_quickly(line):
    start = time.perf_counter()
    result = parse(pillow_png({"parameters": "p\n" + line}))
    assert time.perf_counter() - start < 2.0
    assert result.recipe["steps"] == 20


def test_cyclic_and_dangling_comfyui_graph():
    graph = {
        "1": {"class_type": "KSampler", "inputs": {"seed": ["2", 0], "steps": 4,
                                                   "positive": ["2", 0], "negative": ["99", 0],
                                                   "model": ["2", 0], "latent_image": ["1", 0]}},
        "2": {"class_type": "ConditioningCombine",
              "inputs": {"conditioning_1": ["1", 0], "conditioning_2": ["2", 0],
                         "model": ["2", 0]}},
        "junk": [1, 2],
        "7": {"class_type": 5, "inputs": {}},
    }
    result = parse(raw_png(text("prompt", json.dumps(graph))))
    assert result.recipe["steps"] == 4 and warned(result, "malformed node")


def test_comfyui_without_sampler_falls_back_to_parameters():
    graph = json.dumps({"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}}})
    png = raw_png(text("parameters", "a dog\nSteps: 9, Seed: 3, Version: ComfyUI"),
                  text("prompt", graph))
    result = parse(png)
    assert result.tool == "comfyui"
    assert (result.recipe["prompt"], result.recipe["steps"], result.recipe["seed"]) == (
        "a dog", 9, 3)
    assert warned(result, "no sampler", "read from the `parameters` chunk")


def test_comfyui_sampler_custom_advanced_is_followed_through_its_helpers():
    graph = {
        "10": {"class_type": "SamplerCustomAdvanced",
               "inputs": {"noise": ["11", 0], "guider": ["12", 0], "sampler": ["13", 0],
                          "sigmas": ["14", 0], "latent_image": ["15", 0]}},
        "11": {"class_type": "RandomNoise", "inputs": {"noise_seed": ["16", 0]}},
        "16": {"class_type": "PrimitiveInt", "inputs": {"value": 777}},
        "12": {"class_type": "CFGGuider", "inputs": {"cfg": 3.5, "model": ["17", 0],
                                                     "positive": ["18", 0],
                                                     "negative": ["19", 0]}},
        "13": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "dpmpp_2m"}},
        "14": {"class_type": "BasicScheduler", "inputs": {"scheduler": "karras", "steps": 28,
                                                          "denoise": 1.0, "model": ["17", 0]}},
        "15": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 768}},
        "17": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
        "18": {"class_type": "CLIPTextEncode", "inputs": {"text": ["20", 0]}},
        "20": {"class_type": "PrimitiveString", "inputs": {"value": "a lighthouse"}},
        "19": {"class_type": "CLIPTextEncode", "inputs": {"text": ""}},
    }
    recipe = parse(raw_png(text("prompt", json.dumps(graph)))).recipe
    expected = {
        "seed": 777, "guidance": 3.5, "sampler": "dpmpp_2m", "scheduler": "karras", "steps": 28,
        "width": 1024, "height": 768, "model_name": "flux1-dev.safetensors",
        "prompt": "a lighthouse", "negative_prompt": "", "operation": "generate"}
    assert {key: recipe.get(key) for key in expected} == expected


def test_comfyui_inpaint_graph_gives_inpaint_with_strength():
    graph = json.loads(comfy_graph(denoise=0.8, latent_image=["8", 0]))
    graph["8"] = {"class_type": "VAEEncodeForInpaint",
                  "inputs": {"pixels": ["9", 0], "mask": ["9", 1], "vae": ["4", 2]}}
    graph["9"] = {"class_type": "LoadImage", "inputs": {"image": "in.png"}}
    recipe = parse(raw_png(text("prompt", json.dumps(graph)))).recipe
    assert (recipe["operation"], recipe["strength"]) == ("inpaint", 0.8)


# --- A1111 parameters details -----------------------------------------------------------

def test_a1111_quoted_and_json_values():
    params = ('p\nSteps: 20, Sampler: Euler, Template: "a, \\"b\\"\\nc", '
              'Lora hashes: "a: 1b55e40bdb1d, b: c39b648f8885", '
              'Hashes: {"model": "0123456789", "embed:X": "d, e"}, Seed: 5, Version: neo-2.28')
    result = parse(pillow_png({"parameters": params}))
    extra = result.recipe["extra"]
    assert extra["Template"] == 'a, "b"\nc'
    assert extra["Lora hashes"] == "a: 1b55e40bdb1d, b: c39b648f8885"
    assert json.loads(extra["Hashes"]) == {"model": "0123456789", "embed:X": "d, e"}
    assert result.recipe["model_hash"] == "0123456789" and result.recipe["seed"] == 5
    assert (result.tool, result.tool_version) == ("forge", "neo-2.28")


@pytest.mark.parametrize(("version", "tool"), [
    ("v1.9.4", "automatic1111"), ("f2.0.1v1.10.1-previous-669", "forge"), ("neo", "forge"),
    ("classic", "forge"), (None, "automatic1111")])
def test_a1111_version_tells_the_tool(version, tool):
    settings = "Steps: 5" + (f", Version: {version}" if version else "")
    result = parse(pillow_png({"parameters": f"p\n{settings}"}))
    assert (result.tool, result.tool_version) == (tool, version)


def test_a1111_blank_lines_zero_width_spaces_and_multiline_negative():
    params = ("line one\u200b\nline two\u200b\n\nNegative prompt: neg one\u200b\nneg two\n\n"
              "Steps: 7, Sampler: Euler, CFG scale: 4.5, Seed: -1, Size: 8x16, "
              "Denoising strength: 0.3, Mask blur: 4")
    result = parse(pillow_png({"parameters": params}, itxt_=True))
    recipe = result.recipe
    assert recipe["prompt"] == "line one\nline two"
    assert recipe["negative_prompt"] == "neg one\nneg two"
    assert (recipe["operation"], recipe["strength"], recipe["guidance"]) == ("inpaint", 0.3, 4.5)
    assert "seed" not in recipe and warned(result, "seed -1")


def test_a1111_without_settings_line_keeps_the_prompt():
    result = parse(pillow_png({"parameters": "just a prompt"}))
    assert result.recipe["prompt"] == "just a prompt" and warned(result, "no settings line")


# --- export --------------------------------------------------------------------------------

LINEAGE_RECIPE = {
    "operation": "img2img", "prompt": "a fox, (red:1.2)\nsecond line", "negative_prompt": "blur",
    "seed": 2**63 + 5, "steps": 30, "guidance": 7.5, "scheduler": "EulerDiscreteScheduler",
    "width": 768, "height": 512, "strength": 0.35, "model_id": "stabilityai/sdxl-turbo",
    "model_weights_hash": "sha256:0123456789abcdef0123456789abcdef",
}


def test_format_writes_the_a1111_layout():
    assert format_a1111_parameters(LINEAGE_RECIPE) == (
        "a fox, (red:1.2)\nsecond line\n"
        "Negative prompt: blur\n"
        "Steps: 30, Sampler: EulerDiscreteScheduler, CFG scale: 7.5, Seed: 9223372036854775813, "
        "Size: 768x512, Model hash: 0123456789, Model: stabilityai/sdxl-turbo, "
        "Denoising strength: 0.35")


@pytest.mark.parametrize("changes", [
    {},
    {"negative_prompt": ""},
    {"prompt": "", "negative_prompt": "only negative"},
    {"prompt": 'quotes "x", commas, colons: yes\nSteps: fake', "negative_prompt": "a\nb, c"},
    {"prompt": "日本語 🦊 \u202eRTL", "model_id": 'odd, "model": name\n2'},
    {"operation": "generate", "guidance": 1.0, "seed": 0, "model_weights_hash": "abc"},
], ids=["full", "no-negative", "no-prompt", "tricky-text", "unicode-model", "generate"])
def test_format_round_trips_through_a_png(changes):
    recipe = LINEAGE_RECIPE | changes
    result = parse(pillow_png({"parameters": format_a1111_parameters(recipe)}, itxt_=True))
    got = result.recipe
    for key in ("prompt", "negative_prompt", "seed", "steps", "guidance", "width", "height"):
        assert got[key] == recipe[key], key
    assert got["model_name"] == recipe["model_id"]
    assert got["model_hash"] == recipe["model_weights_hash"].rsplit(":", 1)[-1][:10]
    assert got["sampler"] == recipe["scheduler"]
    if recipe["operation"] == "img2img":
        assert got["strength"] == recipe["strength"]


def test_format_skips_missing_and_bad_values():
    text_out = format_a1111_parameters({"prompt": "p", "seed": "7", "guidance": float("nan"),
                                        "width": 5, "steps": True})
    assert text_out == "p\nSteps: 0"


@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if n.startswith(("a1111", "forge"))])
def test_imported_a1111_recipe_exports_back_to_the_same_recipe(name):
    first = parse(corpus(name)).recipe
    again = parse(pillow_png({"parameters": format_a1111_parameters(first)}, itxt_=True)).recipe
    for key in ("prompt", "negative_prompt", "seed", "steps", "guidance", "width", "height",
                "sampler", "scheduler", "model_name", "model_hash", "strength", "operation"):
        assert again.get(key) == first.get(key), key


# --- fuzzing the real JSON chunks ------------------------------------------------------

def deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


HOSTILE_VALUES = [deep(400), {"x": [1, {"y": None}]}, [1, "a"], float("nan"), 2**80, None,
                  "é" * 20_000]


def json_paths(document: object, limit: int) -> list[tuple]:
    """Up to `limit` paths to values (containers included), spread over the document."""
    paths: list[tuple] = []
    stack: list[tuple[tuple, object]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if path:
            paths.append(path)
        children = (value.items() if isinstance(value, dict)
                    else enumerate(value) if isinstance(value, list) else ())
        stack.extend((path + (key,), child) for key, child in children)
    step = max(1, len(paths) // limit)
    return paths[::step][:limit]


def replaced(document: object, path: tuple, new: object) -> object:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


JSON_CHUNKS = [(row["file"], entry.split(":", 1)[1]) for row in manifest()
               for entry in row["text_chunks"].split(";")
               if entry.split(":", 1)[1] not in ("parameters", "Dream")]


@pytest.mark.parametrize(("name", "key"), JSON_CHUNKS, ids=[f"{n}:{k}" for n, k in JSON_CHUNKS])
def test_hostile_values_anywhere_in_real_json_never_break_the_importer(name, key):
    values, _ = read_text_chunks(corpus(name))
    document = json.loads(values[key])
    # Chunks that take precedence would shadow the one under test, so they are left out.
    shadowing = {"workflow": {"prompt"}, "invokeai_graph": {"invokeai_metadata"}}.get(key, set())
    others = [itxt(k, v) for k, v in values.items() if k != key and k not in shadowing]
    for path in json_paths(document, 30):
        for hostile in HOSTILE_VALUES:
            mutated = json.dumps(replaced(document, path, hostile))  # NaN written bare
            result = parse(raw_png(*others, itxt(key, mutated)))
            assert not warned(result, "importer error"), (path, hostile, result.warnings)
