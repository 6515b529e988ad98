"""Whether an imported recipe (another tool's PNG metadata) can be re-rendered here.

`rerender_plan` turns the recipe recorded on an imported version into a Lineage
generation recipe, or says in words what stands in the way: an edit whose source image
was not imported, LoRAs that cannot be applied as recorded, fields the file does not
state, or no model hash. An SDXL refiner pass (A1111's `Refiner`) is re-run from the
refiner's hash. The models and the LoRA adapters are found by the worker
(`workers/model_hashes.find_model_by_hash`, `interchange/rerender_loras.match_adapters`),
since only it can hash weights. Seeds are kept whole: ComfyUI's reach 2^64-1 and seed
torch as Lineage does. Samplers map onto diffusers schedulers by name; anything only
approximated (a Karras schedule) is listed, and the comparison's verdict says how close
it came. Pure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from interchange.rerender_loras import a1111_prompt, wanted_loras
from rules.recipes import ENGINE_MAX_SEED, MAX_STEPS

REQUIRED = ("seed", "steps", "guidance", "width", "height")
# Sampler names as A1111/Forge, ComfyUI and InvokeAI print them → diffusers schedulers.
SAMPLERS = {
    "euler": "EulerDiscreteScheduler", "k_euler": "EulerDiscreteScheduler",
    "euler a": "EulerAncestralDiscreteScheduler",
    "euler_ancestral": "EulerAncestralDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler", "k_euler_a": "EulerAncestralDiscreteScheduler",
    "ddim": "DDIMScheduler", "pndm": "PNDMScheduler", "plms": "PNDMScheduler",
    "lms": "LMSDiscreteScheduler", "k_lms": "LMSDiscreteScheduler",
    "heun": "HeunDiscreteScheduler", "k_heun": "HeunDiscreteScheduler",
    "dpm2": "KDPM2DiscreteScheduler", "k_dpm_2": "KDPM2DiscreteScheduler",
    "dpm2 a": "KDPM2AncestralDiscreteScheduler", "k_dpm_2_a": "KDPM2AncestralDiscreteScheduler",
    "dpm++ 2m": "DPMSolverMultistepScheduler", "dpmpp_2m": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler", "uni_pc": "UniPCMultistepScheduler",
    "lcm": "LCMScheduler",
}
_PLAIN_SCHEDULES = ("", "normal", "automatic", "simple", "default")


@dataclasses.dataclass(frozen=True)
class RerenderPlan:
    """``recipe`` to run (without its model and LoRAs), the ``model_hash`` naming the
    weights and the ``loras`` to match to registered adapters ({name, weight, hash?}), or
    ``blockers`` saying why not; ``approximations`` lists what is not reproduced. With a
    refiner pass, the recipe's ``refiner`` lacks its model, which ``refiner_hash`` names."""

    recipe: dict[str, Any] | None
    model_hash: str | None
    blockers: list[str]
    approximations: list[str]
    loras: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    refiner_hash: str | None = None

    @property
    def possible(self) -> bool:
        return not self.blockers


def rerender_plan(imported: dict[str, Any] | None, tier: str = "draft") -> RerenderPlan:
    """The plan for re-rendering an imported version (see the module docstring)."""
    source = (imported or {}).get("recipe") or {}
    tool = (imported or {}).get("tool") or "the other tool"
    blockers: list[str] = []
    approximations: list[str] = []
    operation = source.get("operation", "generate")
    if operation != "generate":
        blockers.append(f"it is an {operation} made by {tool}; its source image was not "
                        "imported")
    missing = [name for name in REQUIRED if source.get(name) is None]
    if missing:
        blockers.append(f"the file does not state {', '.join(missing)}")
    if "prompt" not in source:
        blockers.append("the file states no literal prompt (built at run time, and no other "
                        "source in the file gives it)")
    seed = source.get("seed")
    if isinstance(seed, int) and not 0 <= seed <= ENGINE_MAX_SEED:
        blockers.append(f"seed {seed} is outside the 0..2^64-1 torch takes")
    _second_passes(source.get("extra") or {}, blockers)
    steps = source.get("steps")
    if isinstance(steps, int) and steps > MAX_STEPS:
        blockers.append(f"{steps} steps is more than Lineage runs ({MAX_STEPS})")
    loras = wanted_loras((imported or {}).get("loras") or [], blockers)
    prompt = source.get("prompt") or ""
    if _prompt_from_a1111(imported or {}):
        prompt = a1111_prompt(prompt, blockers)
    model_hash = _hash(source.get("model_hash"))
    if model_hash is None:
        name = source.get("model_name")
        blockers.append("the file names no model hash" + (f" (only the name {name!r})"
                                                           if name else ""))
    scheduler = _scheduler(source, approximations)
    refiner = _refiner(source, blockers, approximations)
    if blockers:
        return RerenderPlan(None, model_hash, blockers, approximations, loras)
    recipe: dict[str, Any] = {
        "operation": "generate", "tier": tier, "prompt": prompt,
        "negative_prompt": source.get("negative_prompt") or "", "seed": seed,
        "steps": steps, "guidance": source["guidance"], "width": source["width"],
        "height": source["height"],
    }
    if scheduler:
        recipe["scheduler"] = scheduler
    if refiner is not None:
        recipe["refiner"] = {"switch_at": refiner[1]}
    return RerenderPlan(recipe, model_hash, [], approximations, loras,
                        refiner[0] if refiner else None)


def _second_passes(extra: dict[str, Any], blockers: list[str]) -> None:
    """Passes after the first that a re-render of the recorded recipe would leave out:
    a graph's later samplers (a ComfyUI refiner or hires-fix pass), A1111's hires fix."""
    others = extra.get("comfyui_other_samplers")
    if others:
        blockers.append(f"its graph runs more sampler passes after the first (nodes "
                        f"{others}: a refiner or hires-fix pass), which are not re-rendered")
    hires = next((f"{key} {extra[key]}" for key in ("Hires upscale", "Hires resize")
                  if extra.get(key)), None)
    if hires:
        blockers.append(f"it ran a hires-fix pass ({hires}), which is not re-rendered")


def _refiner(source: dict[str, Any], blockers: list[str], approximations: list[str],
             ) -> tuple[str, float] | None:
    """(the refiner's hash, where the base hands over) when the file records a refiner
    pass; a blocker when it does not say enough to run one."""
    name = source.get("refiner_model_name")
    if name is None and "refiner_model_hash" not in source:
        return None
    refiner_hash = _hash(source.get("refiner_model_hash"))
    switch_at = source.get("refiner_switch_at")
    switches = isinstance(switch_at, int | float) and 0 < switch_at < 1
    if refiner_hash is None:
        blockers.append(f"it ran the refiner {name!r}, but the file gives no hash for it")
    if not switches:
        blockers.append(f"it ran the refiner {name!r}, but the file gives no switch point "
                        "between 0 and 1")
    if refiner_hash is None or not switches:
        return None
    approximations.append("the refiner takes over from the base model's latents "
                          "(diffusers' denoising_end/denoising_start), not inside the "
                          "other tool's sampler")
    return refiner_hash, float(switch_at)


def _prompt_from_a1111(imported: dict[str, Any]) -> bool:
    """Whether the prompt is an A1111-style `parameters` chunk's (which writes LoRAs as
    tags in it), rather than a graph's literal text."""
    filled = ((imported.get("merged") or {}).get("filled") or {}).get("parameters") or []
    return imported.get("tool") in ("automatic1111", "forge") or "prompt" in filled


def _hash(value: Any) -> str | None:
    """A SHA-256 (full or short) as hex; other algorithms (InvokeAI's blake3) do not
    identify weights the way Lineage hashes them."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().removeprefix("sha256:")
    if ":" in text or not text or any(c not in "0123456789abcdef" for c in text):
        return None
    return text


def _scheduler(source: dict[str, Any], approximations: list[str]) -> str | None:
    sampler = str(source.get("sampler") or "").strip()
    schedule = str(source.get("scheduler") or "").strip()
    if sampler.endswith("Scheduler"):
        return sampler  # a diffusers class name: Lineage's own export
    if schedule.endswith("Scheduler") and not sampler:
        return schedule
    lowered = sampler.lower()
    for suffix in (" karras", " exponential"):
        if lowered.endswith(suffix):
            lowered, schedule = lowered.removesuffix(suffix), suffix.strip()
    if schedule.lower() not in _PLAIN_SCHEDULES:
        approximations.append(f"schedule type {schedule!r} is not reproduced")
    if not lowered:
        return None
    if lowered not in SAMPLERS:
        approximations.append(f"sampler {sampler!r} has no diffusers equivalent here; the "
                              "model's own scheduler runs")
        return None
    return SAMPLERS[lowered]
