"""The rules of a recipe, written once: which operations exist, their parameters'
defaults and bounds, the keys the engine computes, and the scheduler names a worker
accepts.

No torch, no diffusers. The request schemas (app/schemas), the commands that queue jobs
(edits, re-bake overrides) and the engine (workers/operations.py) all read these, so a
job the engine would refuse is refused when it is asked for, never queued.
"""

from __future__ import annotations

OPERATIONS = ("generate", "img2img", "inpaint", "outpaint", "upscale", "adjust")
"""Operations a recipe can run (an upload is recorded, not run)."""
EDIT_OPERATIONS = ("img2img", "inpaint", "outpaint", "upscale", "adjust")
"""Operations that start from an existing version."""
DIFFUSION_OPERATIONS = ("generate", "img2img", "inpaint", "outpaint", "upscale")
DEFAULT_STEPS = {"draft": 20, "final": 30}
DEFAULT_STRENGTH = {"img2img": 0.75, "inpaint": 1.0, "outpaint": 1.0}
DEFAULT_GUIDANCE = 7.5
DEFAULT_NOISE_LEVEL = 20
DEFAULT_UPSCALE_STRENGTH = 0.3
"""Resize-then-img2img upscaling keeps the picture and redraws only detail."""
DEFAULT_UPSCALE = 4
"""The engine's scale when a recipe names none (an edit request records 2 by default)."""
MIN_STEPS, MAX_STEPS = 1, 200
STRENGTH_RANGE = (0.0, 1.0)
GUIDANCE_RANGE = (0.0, 50.0)
MAX_SEED = 2**32 - 1
"""Seeds a request may ask for or draws: 0..MAX_SEED."""
ENGINE_MAX_SEED = 2**64 - 1
"""Seeds the engine runs: 0..2^64-1, what torch's generator takes. Imported recipes carry
such seeds (ComfyUI's KSampler allows up to 2^64-1 and seeds torch the same way; torch's
CPU generator draws from the low 32 bits only), and the recipe records them unchanged."""
UPSCALE_FACTORS = (2, 4)
"""The scales an upscale may ask for (the edit route, a re-bake override, the engine)."""
DEFAULT_EDIT_UPSCALE = 2
"""The scale an upscale edit records when the request names none."""
ENGINE_MAX_SIDE = 8192
"""Hard engine limit (a memory guard); projects set their own, smaller, limits in the API."""

DERIVED_KEYS = frozenset(
    {
        "recipe_version",
        "input_hash",
        "mask_hash",
        "output_width",
        "output_height",
        "torch_threads",
        "environment",
        "model_weights_hash",
        "model_name",
        "model_family",
        "native_scale",
        "resized_after_upscale",
        "outpaint_fill",
        "adjust_order",
        "upscale_method",
        "hosted",
    }
)
"""Keys the engine computes; any in a recipe it is given are dropped and recomputed.
``model_id`` and ``scheduler_config`` are not among them: fed back, they pin the model
and the schedule."""

SCHEDULERS = (
    "DDIMScheduler",
    "DDPMScheduler",
    "DEISMultistepScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSDEScheduler",
    "DPMSolverSinglestepScheduler",
    "EDMEulerScheduler",
    "EulerAncestralDiscreteScheduler",
    "EulerDiscreteScheduler",
    "HeunDiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "LMSDiscreteScheduler",
    "PNDMScheduler",
    "UniPCMultistepScheduler",
)
"""Scheduler classes a Stable-Diffusion-shaped pipeline accepts (diffusers'
KarrasDiffusionSchedulers, the ``compatibles`` of the built-in model's scheduler; a test
keeps the two equal). The engine still checks the loaded pipeline's own list."""


MAX_LORAS = 8
"""LoRA adapters one step may apply."""
MAX_LORA_SCALE = 10.0
"""A LoRA's scale is a number in -MAX_LORA_SCALE..MAX_LORA_SCALE."""

FAMILY_KEYS = frozenset({
    "prompt_2", "prompt_3", "negative_prompt_2", "negative_prompt_3", "original_size",
    "target_size", "crops_coords_top_left", "max_sequence_length", "true_cfg_scale", "refiner",
})
"""Keys one pipeline family adds to a recipe (workers/families.py fills and checks them)."""
MAX_SEQUENCE_LENGTH = {"sd3": 256, "flux": 512}
"""The T5 token count a family's recipe records when none is asked for."""


def defaulted_family_keys(recipe: dict) -> set[str]:
    """The family keys a recorded recipe holds at the values the engine fills by default,
    so a step re-made on another model (a promotion) may leave them out and let that
    model's family fill its own. Pure."""
    defaults: dict[str, object] = {
        "prompt_2": recipe.get("prompt"), "prompt_3": recipe.get("prompt"),
        "negative_prompt_2": recipe.get("negative_prompt"),
        "negative_prompt_3": recipe.get("negative_prompt"),
        "crops_coords_top_left": [0, 0], "refiner": None, "true_cfg_scale": 1.0,
        "max_sequence_length": MAX_SEQUENCE_LENGTH.get(recipe.get("model_family", "")),
    }
    sizes = ([recipe.get("height"), recipe.get("width")],
             [recipe.get("output_height"), recipe.get("output_width")])
    found = {key for key, value in defaults.items() if key in recipe and recipe[key] == value}
    found |= {key for key in ("original_size", "target_size")
              if key in recipe and recipe[key] in sizes}
    return found


def denoising_steps(recipe: dict) -> int:
    """How many denoising steps a recipe runs (1 for adjust): ``steps`` (the tier's
    default when absent) times the strength for operations that start from noise part
    way, as diffusers does. Pure; assumes a recipe already checked."""
    operation = recipe.get("operation", "generate")
    if operation == "adjust":
        return 1
    steps = recipe.get("steps") or DEFAULT_STEPS.get(recipe.get("tier", "draft"), 20)
    if operation in DEFAULT_STRENGTH:
        strength = recipe.get("strength")
        strength = DEFAULT_STRENGTH[operation] if strength is None else strength
        return max(int(steps * strength), 1)
    return int(steps)
