"""An imported image's LoRAs on a re-render: matched to registered adapters by the hash
the file prints (else by name) and applied at the recorded weights, or named as missing;
A1111's LoRA tags taken out of the prompt it encodes. Pure."""

from __future__ import annotations

from interchange.png_metadata import parse_generation_metadata
from interchange.rerender_loras import AdapterRef, match_adapters
from interchange.rerender_plan import rerender_plan
from tests.unit.test_png_metadata import pillow_png

SHA = "ab" * 32
ADDNET = "cd" * 32
INK = AdapterRef("ink-style", "ink_v2.safetensors", SHA, (SHA, ADDNET))
SETTINGS = "Steps: 4, Sampler: Euler, CFG scale: 5, Seed: 9, Size: 64x64, Model hash: 0123456789"


def plan_of(parameters: str):
    found = parse_generation_metadata(pillow_png({"parameters": parameters}))
    return rerender_plan({"tool": found.tool, "recipe": found.recipe, "loras": found.loras})


def test_an_a1111_lora_is_matched_by_its_printed_hash_at_its_weight_and_leaves_the_prompt():
    plan = plan_of(f"a harbour <lora:ink_v2:0.8>, at dusk\n{SETTINGS}, "
                   f'Lora hashes: "ink_v2: {ADDNET[:12]}"')

    assert plan.possible
    assert plan.recipe["prompt"] == "a harbour , at dusk"  # the tag selects; it is not text
    loras, missing, notes = match_adapters(plan.loras, [INK])
    assert (loras, missing, notes) == (
        [{"name": "ink-style", "scale": 0.8, "weights_hash": SHA}], [], [])


def test_a_lora_no_adapter_has_is_named_with_what_to_do():
    plan = plan_of(f"a harbour <lora:sepia:1>\n{SETTINGS}, Lora hashes: \"sepia: 0123456789ab\"")

    loras, missing, _ = match_adapters(plan.loras, [INK])

    assert loras == []
    assert missing == ["LoRA 'sepia' (hash 0123456789ab) is not a registered adapter here; "
                       "register its file with `lineage models add NAME FILE`"]


def test_an_adapter_of_the_same_name_with_other_weights_is_not_used():
    wanted = [{"name": "ink_v2.safetensors", "weight": 1.0, "hash": "0123456789ab"}]

    loras, missing, _ = match_adapters(wanted, [INK])

    assert loras == []
    assert missing == ["LoRA 'ink_v2.safetensors' has hash 0123456789ab, but registered "
                       f"adapter 'ink-style' has other weights ({SHA[:12]}); register its "
                       "file with `lineage models add NAME FILE`"]


def test_a_lora_without_a_hash_matches_by_name_and_says_its_weights_were_not_checked():
    wanted = [{"name": "loras/Ink_V2.safetensors", "weight": 0.5, "hash": "blake3:99"}]

    loras, missing, notes = match_adapters(wanted, [INK])

    assert loras == [{"name": "ink-style", "scale": 0.5, "weights_hash": SHA}] and not missing
    assert notes == ["LoRA 'loras/Ink_V2.safetensors' matched registered adapter 'ink-style' "
                     "by name only (the file gives no SHA-256 to check its weights)"]


def test_what_lineage_cannot_apply_as_recorded_blocks_the_plan():
    split = rerender_plan({"tool": "comfyui", "recipe": {
        "prompt": "x", "seed": 1, "steps": 4, "guidance": 5.0, "width": 64, "height": 64,
        "model_hash": "0123456789"}, "loras": [
        {"name": "ink", "weight": 1.0, "weight_clip": 0.4},
        {"name": "glow", "weight": None}]})
    hyper = plan_of(f"a harbour <hypernet:anime:1>\n{SETTINGS}")

    assert split.blockers == [
        "LoRA 'ink' has model weight 1 but CLIP weight 0.4; Lineage applies one scale to both",
        "the file gives no weight for LoRA 'glow'"]
    assert hyper.blockers == ["the prompt applies A1111 extra networks (hypernet) that "
                              "Lineage does not apply"]


def test_a_comfyui_seed_wider_than_32_bits_is_kept_whole():
    plan = rerender_plan({"tool": "comfyui", "recipe": {
        "prompt": "x", "seed": 1125899906842624, "steps": 4, "guidance": 5.0, "width": 64,
        "height": 64, "model_hash": "0123456789"}})

    assert plan.possible and plan.recipe["seed"] == 1125899906842624
