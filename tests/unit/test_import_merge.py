"""Imports with several metadata sources: a saver's `parameters` chunk filling what a
ComfyUI graph leaves to run time, disagreements as warnings, LoRAs from every source,
and whether an imported recipe can be re-rendered. Real corpus files are read in place
(../shared/fixtures/import-corpus; skipped without it, failing under CI=true)."""

from __future__ import annotations

import json
import struct
import zlib

from interchange.png_metadata import parse_generation_metadata
from interchange.rerender_plan import rerender_plan
from tests.unit.test_png_metadata import comfy_graph, corpus, pillow_png


def with_text_chunk(png: bytes, key: str, value: str) -> bytes:
    """``png`` with one more tEXt chunk just before IEND (as a saver node adds it)."""
    body = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = (struct.pack(">I", len(body)) + b"tEXt" + body
             + struct.pack(">I", zlib.crc32(b"tEXt" + body)))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


FINAL_PROMPT = "hyperreal photograph, a lighthouse keeper, pretty eyes, on a cliff"
SAVER_PARAMETERS = (f"{FINAL_PROMPT}\nNegative prompt: photograph, muted colors\n"
                    "Steps: 30, Sampler: euler, CFG scale: 2.5, Seed: 4242, Size: 832x1216, "
                    "Model hash: 0123456789, Model: colossusProjectFlux_21DeDistilledFP8UNET")


def test_a_saver_chunk_fills_the_prompt_size_and_seed_a_wildcard_graph_builds_at_run_time():
    png = with_text_chunk(corpus("comfyui_NaN-in-prompt_groupnodes_wildcards.png"),
                          "parameters", SAVER_PARAMETERS)

    result = parse_generation_metadata(png)

    recipe = result.recipe
    assert result.tool == "comfyui"
    # Literal values from the graph stay; run-time values come from the saver's chunk.
    assert recipe["steps"] == 30 and recipe["guidance"] == 2.5 and recipe["sampler"] == "euler"
    assert recipe["prompt"] == FINAL_PROMPT
    assert recipe["negative_prompt"] == "photograph, muted colors"
    assert recipe["seed"] == 4242
    assert (recipe["width"], recipe["height"]) == (832, 1216)
    assert recipe["model_hash"] == "0123456789"  # same model name, folder and suffix aside
    assert recipe["extra"]["prompt_template"].startswith("hyperreal photograph, {")
    assert result.merged == {
        "sources": ["ComfyUI graph", "parameters"],
        "filled": {"parameters": ["prompt", "negative_prompt", "seed", "width", "height",
                                  "model_hash"]},
        "disagreements": []}
    assert any(w.startswith("prompt, negative_prompt, seed, width, height, model_hash filled "
                            "from the `parameters` chunk") for w in result.warnings)


def test_a_saver_that_writes_placeholders_and_another_model_fills_nothing_and_is_listed():
    result = parse_generation_metadata(
        corpus("comfyui_image-saver_parameters+prompt+workflow.png"))

    recipe = result.recipe
    assert recipe["prompt"].startswith("general, masterpiece")  # the graph's, not "unknown"
    assert recipe["seed"] == 106744160813738 and recipe["model_name"].startswith("waiIllus")
    assert "model_hash" not in recipe  # the chunk's hash is of JANKUV5…, not this model
    assert result.merged["disagreements"] == ["prompt", "negative_prompt", "seed", "guidance",
                                              "width", "height", "model_name"]
    assert result.merged["filled"] == {"parameters": []}
    assert any("model hash for another model name ('JANKUV5NSFWTrainedNoobai_v50')" in w
               for w in result.warnings)


def test_a1111_loras_carry_weight_and_the_hash_from_lora_hashes():
    result = parse_generation_metadata(corpus("a1111_v1.6.0_img2img-inpaint_lora.png"))

    assert result.loras == [{"name": "lcm_lora_sd15", "weight": 1.0,
                             "sources": ["automatic1111"], "hash": "aaebf6360f7d"}]


def test_comfyui_lora_loader_nodes_are_recorded_with_both_strengths():
    result = parse_generation_metadata(corpus("comfyui_examples_lcm_loraloader.png"))

    assert result.loras == [{"name": "lcm_lora_sdxl.safetensors", "weight": 1.0,
                             "sources": ["comfyui"], "weight_clip": 1.0}]


def test_the_same_lora_from_graph_and_parameters_is_one_entry_with_the_hash_filled_in():
    graph = json.loads(comfy_graph(model=["10", 0]))
    graph["10"] = {"class_type": "LoraLoader", "inputs": {
        "lora_name": "styles/inkwash.safetensors", "strength_model": 0.7,
        "strength_clip": 0.5, "model": ["4", 0], "clip": ["4", 1]}}
    parameters = ("a cat <lora:inkwash:0.6>\nSteps: 20, Sampler: euler, CFG scale: 7, Seed: 5, "
                  'Size: 512x640, Model: m, Lora hashes: "inkwash: 1b55e40bdb1d"')

    result = parse_generation_metadata(pillow_png({"prompt": json.dumps(graph),
                                                   "parameters": parameters}))

    assert result.loras == [{"name": "styles/inkwash.safetensors", "weight": 0.7,
                             "sources": ["comfyui", "automatic1111"], "weight_clip": 0.5,
                             "hash": "1b55e40bdb1d"}]
    assert ("LoRA 'inkwash': weight 0.6 in automatic1111 but 0.7 in comfyui; the first was "
            "kept") in result.warnings


def test_a_two_weight_lora_tag_and_invokeai_loras_are_read():
    a1111 = parse_generation_metadata(pillow_png({"parameters": (
        "ink <lora:brush.safetensors:0.6:0.4>\nSteps: 20, Sampler: Euler, CFG scale: 7, "
        "Seed: 1, Size: 64x64")}))
    invoke = parse_generation_metadata(pillow_png({"invokeai_metadata": json.dumps({
        "positive_prompt": "ink", "seed": 1, "steps": 20, "cfg_scale": 7, "width": 64,
        "height": 64, "model": {"name": "sd15", "hash": "blake3:abc"},
        "loras": [{"model": {"key": "k", "hash": "blake3:77aa", "name": "brush"},
                   "weight": 0.75}]})}))

    assert a1111.loras == [{"name": "brush.safetensors", "weight": 0.6, "sources":
                            ["automatic1111"], "weight_clip": 0.4}]
    assert invoke.loras == [{"name": "brush", "weight": 0.75, "sources": ["invokeai"],
                             "hash": "blake3:77aa"}]


def test_an_a1111_txt2img_with_a_model_hash_can_be_re_rendered_given_that_model():
    found = parse_generation_metadata(corpus("a1111_v1.10.1_txt2img_ja_itxt.png"))

    plan = rerender_plan({"tool": found.tool, "recipe": found.recipe, "loras": found.loras})

    assert plan.possible and plan.model_hash == "45a21ea00a"
    assert plan.recipe == {"operation": "generate", "tier": "draft",
                           "prompt": found.recipe["prompt"],
                           "negative_prompt": found.recipe["negative_prompt"],
                           "seed": 3782896554, "steps": 20, "guidance": 7.0, "width": 1024,
                           "height": 1024, "scheduler": "DPMSolverMultistepScheduler"}
    assert plan.approximations == ["schedule type 'Karras' is not reproduced"]


def test_imports_that_cannot_be_re_rendered_say_why_in_words():
    lora = parse_generation_metadata(corpus("a1111_v1.6.0_img2img-inpaint_lora.png"))
    comfy = parse_generation_metadata(corpus("comfyui_examples_lcm_loraloader.png"))

    lora_plan = rerender_plan({"tool": lora.tool, "recipe": lora.recipe, "loras": lora.loras})
    comfy_plan = rerender_plan({"tool": comfy.tool, "recipe": comfy.recipe,
                                "loras": comfy.loras})

    assert not lora_plan.possible
    assert any("its source image was not imported" in b for b in lora_plan.blockers)
    # The 64-bit seed is no obstacle; the LoRA waits for the worker's registered adapters.
    assert comfy_plan.blockers == [
        "the file names no model hash (only the name 'sd_xl_1.0.safetensors')"]
    assert comfy_plan.loras == [{"name": "lcm_lora_sdxl.safetensors", "weight": 1.0,
                                 "hash": None}]


def test_a_parameters_chunk_fills_the_prompt_an_invokeai_workflow_image_leaves_out():
    meta = {"generation_mode": "txt2img", "seed": 9, "steps": 20, "cfg_scale": 6.0,
            "width": 512, "height": 512, "scheduler": "euler",
            "model": {"name": "sd15", "hash": "blake3:ab", "base": "sd-1", "type": "main"}}
    parameters = ("a paper boat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, "
                  "CFG scale: 5, Seed: 9, Size: 512x512, Model: sd15")

    result = parse_generation_metadata(pillow_png({"invokeai_metadata": json.dumps(meta),
                                                   "parameters": parameters}))

    assert result.tool == "invokeai"
    assert result.recipe["prompt"] == "a paper boat"
    assert result.recipe["negative_prompt"] == "blurry"
    assert result.merged["filled"] == {"parameters": ["prompt", "negative_prompt",
                                                      "sampler"]}
    assert result.merged["disagreements"] == ["guidance"]
    assert ("`parameters` chunk disagrees with the InvokeAI metadata on guidance; the "
            "InvokeAI metadata was used") in result.warnings


def test_an_a1111_refiner_is_recorded_and_re_rendered_only_with_its_hash():
    settings = ("Steps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 1024x1024, "
                "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, {refiner}"
                "Refiner switch at: 0.8, Version: v1.6.0")
    hashed = parse_generation_metadata(pillow_png({"parameters": "a cat\n" + settings.format(
        refiner="Refiner: sd_xl_refiner_1.0 [7440042BBD], ")}))
    unhashed = parse_generation_metadata(pillow_png({"parameters": "a cat\n" + settings.format(
        refiner="Refiner: sd_xl_refiner_1.0, ")}))

    assert {k: v for k, v in hashed.recipe.items() if k.startswith("refiner")} == {
        "refiner_model_name": "sd_xl_refiner_1.0", "refiner_model_hash": "7440042bbd",
        "refiner_switch_at": 0.8}
    assert "Refiner" not in hashed.recipe["extra"]
    plan = rerender_plan({"tool": hashed.tool, "recipe": hashed.recipe})
    assert plan.possible and plan.refiner_hash == "7440042bbd"
    assert plan.recipe["refiner"] == {"switch_at": 0.8}
    assert rerender_plan({"tool": unhashed.tool, "recipe": unhashed.recipe}).blockers == [
        "it ran the refiner 'sd_xl_refiner_1.0', but the file gives no hash for it"]


def test_a_second_pass_the_recipe_leaves_out_blocks_the_re_render():
    hires = parse_generation_metadata(corpus("a1111_v1.8.0_hires_no-negative-line.png"))
    two_pass = parse_generation_metadata(corpus("comfyui_examples_hiresfix-2pass_SCREENSHOT.png"))

    assert rerender_plan({"tool": hires.tool, "recipe": hires.recipe}).blockers == [
        "it ran a hires-fix pass (Hires upscale 1.5), which is not re-rendered"]
    assert ("its graph runs more sampler passes after the first (nodes 11: a refiner or "
            "hires-fix pass), which are not re-rendered") in rerender_plan(
        {"tool": two_pass.tool, "recipe": two_pass.recipe}).blockers
