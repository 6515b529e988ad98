"""Re-render an imported image here ("re-render this ComfyUI image") and compare.

An imported version's bytes come from outside and stay the chain's source. When its
recorded recipe can be re-rendered (interchange/rerender_plan.py), a local model has
the weights its hash names (workers/model_hashes.py) and every LoRA it applied is a
registered adapter (by hash, else by name), the rebuild also re-renders it on that model
with those adapters at the recorded weights and compares pixels with the imported file:
the step's verdict is then the usual one (pixel_equal, within_tolerance, diverged; never
bit_exact, since the imported file carries another tool's metadata). Otherwise the step
says why it was not re-rendered (which model or LoRA adapter is missing, what the file
does not state) and keeps the verdict of a stored source.
"""

from __future__ import annotations

import time
from typing import Any

from events.assets import VersionCreated
from events.errors import DomainError
from interchange.rerender_loras import match_adapters
from interchange.rerender_plan import rerender_plan
from workers.model_hashes import candidate_specs, find_model_by_hash, registered_adapters
from workers.operations import run_step
from workers.rebuild_compare import Tolerance, compare_images


def rerender_import(version: VersionCreated, stored: bytes,
                    tolerance: Tolerance) -> dict[str, Any]:
    """Step fields for an imported version: ``rerender`` (possible, reasons, model,
    how the hash matched, approximations) and, when it ran, the comparison."""
    plan = rerender_plan(version.imported, version.tier)
    info: dict[str, Any] = {"possible": False, "reasons": list(plan.blockers),
                            "approximations": list(plan.approximations)}
    if not plan.possible or plan.recipe is None or plan.model_hash is None:
        return {"rerender": info}
    match = find_model_by_hash(plan.model_hash)
    if match is None:
        info["reasons"].append(f"no local model has weights with hash {plan.model_hash} "
                               f"(looked at {', '.join(candidate_specs())})")
    loras, missing, notes = match_adapters(plan.loras, registered_adapters())
    info["reasons"].extend(missing)
    info["approximations"].extend(notes)
    recipe = {**plan.recipe, "model": match.spec if match else None,
              **({"loras": loras} if loras else {})}
    if plan.refiner_hash is not None:
        refiner = find_model_by_hash(plan.refiner_hash)
        if refiner is None:
            info["reasons"].append(f"no local model has the refiner's weights (hash "
                                   f"{plan.refiner_hash})")
        else:
            recipe["refiner"] = {**recipe["refiner"], "model": refiner.spec,
                                 "model_weights_hash": refiner.weights_hash}
    if match is None or info["reasons"]:
        return {"rerender": info}
    info.update(model_id=match.spec, model_hash=plan.model_hash, matched=match.matched,
                model_weights_hash=match.weights_hash)
    started = time.perf_counter()
    try:
        result = run_step(recipe, expect_weights_hash=match.weights_hash)
    except DomainError as exc:
        info["reasons"].append(f"the imported recipe does not run here: {exc.detail}")
        return {"rerender": info}
    info.update(possible=True, recipe=result.recipe)
    return {"source": "rerendered", "rerender": info,
            "rebuild_seconds": round(result.seconds, 6),
            "wall_seconds": round(time.perf_counter() - started, 6),
            **compare_images(stored, result.png, version.content_hash, tolerance)}
