"""Promoting a draft to a final render: its recorded chain re-made on the final tier's
model.

A draft is often not one generation but a generation and the edits made on it (an
inpaint, an adjust). Promoting it re-makes that whole chain as a new branch of final
versions: every step with its recorded seed and parameters, on the final tier's model,
each step recorded as its own version (``derived_from`` the draft step it re-made, the
recipe's ``promoted_from`` naming the draft). Steps whose pixels nothing re-makes are
not re-run: the chain starts at its last generation (a generation ignores its parent's
pixels), or after its last upload (a manual retouch is taken as it is).

One ``promote`` job runs the steps in order; its request holds every step's recipe, so
what will run is decided (and can be checked) when it is asked for. Pure apart from
:func:`request_promotion`.
"""

from __future__ import annotations

from typing import Any

from commands.asset_state import AssetState, load_entity_asset
from commands.generation import asset_expected, job_appends, jobs_result, pending_finals
from commands.lineage_chain import is_source_step, load_chain
from commands.policies import check_policies
from commands.projects import ProjectState
from commands.state import execute, new_id
from commands.users import Principal
from events.assets import JobsRequested, VersionCreated
from events.errors import DomainError
from events.jobs import JobRequested
from events.store import ANY, EventStore, Metadata, StreamAppend
from rules.access import CREATOR
from rules.job_estimate import JobLimits, step_work
from rules.recipes import DERIVED_KEYS, DIFFUSION_OPERATIONS, defaulted_family_keys

PROMOTE = "promote"
MODEL_KEYS = frozenset({"model", "model_id", "scheduler_config"})
"""Keys that pin a step to the draft's model: the final tier's model runs instead (its
own scheduler configuration; the scheduler class is kept)."""
NOT_CARRIED = DERIVED_KEYS | MODEL_KEYS | {"derived_from", "promoted_from"}


def promotion_start(chain: list[VersionCreated]) -> int:
    """The index of the first step to re-make: the last generation, or the step after
    the last upload when that comes later. ``len(chain)`` when the last step itself is
    an upload (nothing to re-make)."""
    start = 0
    for index, version in enumerate(chain):
        if is_source_step(version):
            start = index + 1
        elif version.operation == "generate":
            start = index
    return start


def final_recipe(recorded: dict[str, Any], *, promoted_from: str, derived_from: str,
                 steps: int | None = None) -> dict[str, Any]:
    """The recipe a promoted step runs: the recorded parameters (seed, prompt, sizes,
    strength, mask, margins, scale, adjustments…) on the final tier, without what the
    engine computes or what pins the draft's model. Pure."""
    # Family keys left at their defaults are the draft model's, not the person's: the
    # final model's family fills its own (an SDXL draft may be promoted onto Flux).
    dropped = NOT_CARRIED | defaulted_family_keys(recorded)
    recipe = {key: value for key, value in recorded.items() if key not in dropped}
    recipe["tier"] = "final"
    if steps is not None and recipe.get("operation") in DIFFUSION_OPERATIONS:
        recipe["steps"] = steps
    recipe["promoted_from"] = promoted_from
    recipe["derived_from"] = derived_from
    return recipe


def promotion_steps(chain: list[VersionCreated], overrides: dict[str, Any],
                    ) -> list[dict[str, Any]]:
    """The steps a promotion of ``chain[-1]`` runs, in order: each {derived_from,
    operation, recipe, mask_hash} and, on the first, ``parent_id`` (the version the new
    branch hangs from) and ``input_version_id`` (whose stored bytes it starts from, or
    None for a generation).

    ``overrides``: ``steps`` for every diffusion step; ``width``/``height`` only when the
    draft is a single generation (an edited chain is re-made at its recorded sizes:
    masks and margins were drawn for them). Raises DomainError for a version that is not
    a draft made by a recipe, and for size overrides on an edited chain.
    """
    draft = chain[-1]
    if draft.tier != "draft":
        raise DomainError(f"version {draft.version_id} is already {draft.tier}; only drafts "
                          "are promoted")
    start = promotion_start(chain)
    remade = chain[start:]
    if not any(v.operation in DIFFUSION_OPERATIONS for v in remade):
        raise DomainError(f"version {draft.version_id} was made by {draft.operation!r} and "
                          "has no prompt and seed to promote (nothing in its chain since "
                          "its last upload runs a model); request a generation instead")
    sizes = {key: overrides[key] for key in ("width", "height") if overrides.get(key)}
    if sizes and (len(remade) > 1 or remade[0].operation != "generate"):
        edits = ", ".join(v.operation for v in remade if v.operation != "generate")
        raise DomainError(
            f"version {draft.version_id} was edited ({edits}); its chain is re-made at the "
            "recorded sizes, which its masks and margins were made for, so promote it "
            "without width and height", field="width" if "width" in sizes else "height")
    steps: list[dict[str, Any]] = []
    for version in remade:
        recipe = final_recipe(version.recipe, promoted_from=draft.version_id,
                              derived_from=version.version_id, steps=overrides.get("steps"))
        if version.operation == "generate":
            recipe.update(sizes)
        steps.append({"derived_from": version.version_id, "operation": version.operation,
                      "recipe": recipe, "mask_hash": version.recipe.get("mask_hash")})
    first = remade[0]
    if first.operation == "generate":
        steps[0].update(parent_id=first.version_id, input_version_id=None)
    else:
        steps[0].update(parent_id=chain[start - 1].version_id,
                        input_version_id=chain[start - 1].version_id)
    return steps


def decide_promotion(project: ProjectState, asset: AssetState, chain: list[VersionCreated],
                     overrides: dict[str, Any], *, job_id: str, requested_by: str,
                     pending: int, limits: JobLimits | None = None,
                     ) -> tuple[list[JobRequested], JobsRequested]:
    """The promote job and the asset's JobsRequested. Every re-made step is a final
    render for the project's policies. Raises DomainError, PolicyViolation, JobTooLong
    when the steps together are predicted to pass the final tier's time limit."""
    steps = promotion_steps(chain, overrides)
    check_policies(project, asset, "final", len(steps), pending)
    remade = {version.version_id: version for version in chain}
    (limits or JobLimits()).check("final", [
        step_work(step["operation"], "final", step["recipe"],
                  *_size(step["recipe"], remade[step["derived_from"]])) for step in steps])
    draft = chain[-1]
    job = JobRequested(job_id=job_id, kind=PROMOTE, project_id=asset.project_id,
                       asset_id=asset.asset_id, requested_by=requested_by,
                       recipe=steps[0]["recipe"], input_version_id=draft.version_id,
                       tier="final", options={"promoted_from": draft.version_id,
                                              "steps": steps})
    return [job], JobsRequested(job_ids=[job_id], operation=PROMOTE, tier="final")


def _size(recipe: dict[str, Any], version: VersionCreated) -> tuple[int, int]:
    """The size a re-made step makes: a generation's (maybe changed) recipe size, else
    the size the draft step made."""
    if version.operation == "generate":
        return recipe.get("width") or version.width, recipe.get("height") or version.height
    return version.width, version.height


def request_promotion(store: EventStore, principal: Principal, meta: Metadata, version_id: str,
                      overrides: dict[str, Any], *, if_match: int = ANY,
                      limits: JobLimits | None = None) -> dict[str, Any]:
    """Promote the draft ``version_id`` (creator role): one job re-making its chain on
    the final tier's model. ``overrides``: width, height, steps (see
    :func:`promotion_steps`). Returns the jobs body. Raises NotFound, Forbidden,
    DomainError, PolicyViolation."""
    job_id = new_id()

    def plan() -> list[StreamAppend]:
        asset, version, project, _ = load_entity_asset(store, principal, version_id, "version",
                                                       CREATOR)
        jobs, asset_event = decide_promotion(
            project, asset, load_chain(store, version_id), overrides, job_id=job_id,
            requested_by=principal.user_id, pending=pending_finals(store, asset),
            limits=limits)
        return job_appends(asset.asset_id, asset_expected(if_match, version, "final"), jobs,
                           asset_event)

    return jobs_result(execute(store, meta, plan, if_match=if_match))
