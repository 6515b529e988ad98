"""An SDXL refiner pass: the base model denoises the first part of the schedule and hands
its latents to a refiner (an SDXL image-to-image pipeline) for the rest, as diffusers'
"ensemble of expert denoisers" does (``denoising_end`` on the base, ``denoising_start``
on the refiner).

A generation asks for one with ``refiner: {"model": NAME, "switch_at": 0.8}``: a
registered model (or a model spec) and the fraction of the schedule the base runs, as
A1111's "Refiner switch at". The recipe records the refiner's ``model_id`` and
``model_weights_hash`` (and its registry name), so a rebuild runs the same refiner
weights or is refused naming them. The refiner runs the recipe's scheduler and prompts,
continues the base's random generator, and takes no LoRA (they apply to the base).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from events.errors import DomainError
from workers import loras, model_registry, pipelines
from workers.models import ModelUnavailable

Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class Refiner:
    """The refiner a recipe asked for: its model spec, the weights it must have (a
    rebuild), and where the base hands over."""

    spec: str
    switch_at: float
    expect_weights_hash: str | None


def requested(out: dict[str, Any]) -> Refiner | None:
    """Check ``out["refiner"]`` (None, or {model | model_id, switch_at}); return the pass
    to run, or None. Raises DomainError for a malformed request or an edit."""
    given = out.get("refiner")
    if given is None:
        return None
    if not isinstance(given, dict):
        raise DomainError("refiner must be an object {model, switch_at}")
    if out["operation"] != "generate":
        raise DomainError("a refiner pass follows a generation; an edit takes none")
    model = given.get("model") or given.get("model_id")
    if not isinstance(model, str) or not model:
        raise DomainError("refiner needs 'model': a registered model")
    switch_at = given.get("switch_at", 0.8)
    if isinstance(switch_at, bool) or not isinstance(switch_at, int | float) or \
            not 0.0 < switch_at < 1.0:
        raise DomainError(f"refiner switch_at must be a number between 0 and 1 (the part "
                          f"of the schedule the base runs), not {switch_at!r}")
    registry = model_registry.view()
    entry = registry.entries.get(model) if registry is not None else None
    spec = entry.event.spec if entry is not None and entry.event.kind == "pipeline" else model
    wanted = given.get("model_weights_hash")
    return Refiner(spec, float(switch_at), wanted if isinstance(wanted, str) else None)


def split_progress(progress: Progress | None, steps: int,
                   ) -> tuple[Progress | None, Progress | None]:
    """Progress callbacks for the base and the refiner that report the two passes as
    one count of ``steps`` (the refiner's count starts where the base stopped)."""
    if progress is None:
        return None, None
    reached = [0]

    def base(done: int, total: int) -> None:
        reached[0] = done
        progress(done, steps)

    def after(done: int, total: int) -> None:
        progress(reached[0] + done, max(steps, reached[0] + total))

    return base, after


def load(refiner: Refiner, out: dict[str, Any]) -> Any:  # noqa: ANN401
    """The refiner's pipeline for this call (the recipe's scheduler), loaded before the
    base runs so a missing refiner costs no computation; records it in ``out["refiner"]``.
    Raises ModelUnavailable for a refiner that cannot be loaded or whose weights differ
    from those recorded, DomainError for one that is not an SDXL model."""
    pipe, info = pipelines.get_pipeline("img2img", refiner.spec)
    if refiner.expect_weights_hash not in (None, info["weights_hash"]):
        raise ModelUnavailable(
            f"refiner {refiner.spec!r} has weights {info['weights_hash']}, but the recipe "
            f"needs weights {refiner.expect_weights_hash}", model_id=refiner.spec,
            expected_weights_hash=refiner.expect_weights_hash,
            actual_weights_hash=info["weights_hash"])
    if not type(pipe).__name__.startswith("StableDiffusionXL"):
        raise DomainError(f"refiner {refiner.spec!r} is a {type(pipe).__name__}, not an "
                          "SDXL model")
    recorded: dict[str, Any] = {"model_id": info["model_id"], "switch_at": refiner.switch_at,
                                "model_weights_hash": info["weights_hash"]}
    entry = model_registry.entry_for_spec(refiner.spec)
    if entry is not None and entry.weights_hash == info["weights_hash"]:
        recorded["model_name"] = entry.name
    out["refiner"] = recorded
    return pipelines.pipeline_for_call(pipe, pipelines.make_scheduler(
        pipe, out["scheduler"], out["scheduler_config"]))


def refine(refiner: Refiner, call_pipe: Any, latents: Any, args: dict[str, Any],
           progress: Progress | None) -> Any:  # noqa: ANN401
    """Run the refiner (``call_pipe`` from `load`) on the base's ``latents`` with the base
    call's ``args`` (prompts, steps, guidance, generator, size conditioning); return the
    image."""
    keep = ("prompt", "negative_prompt", "prompt_2", "negative_prompt_2",
            "num_inference_steps", "guidance_scale", "generator", "original_size",
            "target_size", "crops_coords_top_left")
    call = {key: args[key] for key in keep if key in args}
    call.update(pipelines.progress_args(call_pipe, progress), image=latents,
                denoising_start=refiner.switch_at, output_type="pil")
    with pipelines.run_lock("img2img", refiner.spec):
        loras.activate(call_pipe, [])
        return call_pipe(**call).images[0]
