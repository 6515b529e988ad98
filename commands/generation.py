"""Requesting generations (from a prompt or a template; promotions: commands/promotion.py).

A request appends one JobRequested per variation on its own ``job-<id>`` stream and one
JobsRequested on the asset stream, atomically; the asset append carries the expected
version, so concurrent requests cannot both slip under the final-render cap.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from typing import Any

from commands.asset_state import AssetState, load_asset_as
from commands.jobs import load_job
from commands.models import recipe_extras
from commands.policies import check_policies
from commands.projects import ProjectState
from commands.state import all_of, execute, expected, first_of, new_id
from commands.templates import load_template_as, render
from commands.users import Principal
from events.assets import JobsRequested
from events.domain import stream_id
from events.errors import DomainError, NotFound
from events.jobs import JobRequested
from events.store import ANY, NO_STREAM, EventStore, Metadata, Recorded, StreamAppend
from imaging.checks import check_generation_size, check_scheduler
from rules.access import CREATOR
from rules.job_estimate import JobLimits, step_work
from rules.recipes import MAX_SEED

MAX_VARIATIONS = 16


@dataclasses.dataclass(frozen=True, kw_only=True)
class Generate:
    """A generation request with its job ids and first seed already chosen."""

    asset_id: str
    requested_by: str
    prompt: str
    tier: str
    width: int
    height: int
    seed: int
    job_ids: tuple[str, ...]
    negative_prompt: str = ""
    steps: int | None = None
    guidance: float | None = None
    scheduler: str | None = None
    template_id: str | None = None
    template_version: int | None = None
    input_version_id: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Registered model, LoRAs and family keys (commands.models.RECIPE_EXTRAS)."""


def draw_seed(variations: int = 1) -> int:
    """A random first seed leaving room for ``variations`` consecutive seeds."""
    return secrets.randbelow(MAX_SEED + 2 - variations)


def check_seed_range(seed: int, variations: int) -> None:
    """Raise DomainError when consecutive seeds from ``seed`` would pass 2^32 - 1."""
    last = seed + variations - 1
    if last > MAX_SEED:
        raise DomainError(f"seeds {seed}..{last} for {variations} variations pass the "
                          f"largest seed {MAX_SEED}; choose a seed <= {MAX_SEED - variations + 1}",
                          field="seed")


def generation_recipe(cmd: Generate, seed: int) -> dict[str, Any]:
    """The recipe one variation's worker runs (unset optional parameters are left to the
    worker's defaults, which it records in the version)."""
    recipe: dict[str, Any] = {
        "operation": "generate", "tier": cmd.tier, "prompt": cmd.prompt,
        "negative_prompt": cmd.negative_prompt, "seed": seed,
        "width": cmd.width, "height": cmd.height,
    }
    for key in ("steps", "guidance", "scheduler", "template_id", "template_version"):
        value = getattr(cmd, key)
        if value is not None:
            recipe[key] = value
    recipe.update(cmd.extras)
    return recipe


def decide_generation(project: ProjectState, asset: AssetState, cmd: Generate,
                      pending_finals: int, limits: JobLimits | None = None,
                      ) -> tuple[list[JobRequested], JobsRequested]:
    """One JobRequested per job id (seeds consecutive from ``cmd.seed``) and the
    asset's JobsRequested. Raises PolicyViolation, DomainError for a bad seed range or
    scheduler, JobTooLong when a job is predicted to pass its tier's time limit
    (``limits``; by default the built-in prior and LINEAGE_JOB_TIME_LIMIT_*)."""
    count = len(cmd.job_ids)
    check_seed_range(cmd.seed, count)
    if cmd.scheduler is not None:
        check_scheduler(cmd.scheduler)
    check_policies(project, asset, cmd.tier, count, pending_finals)
    recipe = generation_recipe(cmd, cmd.seed)
    (limits or JobLimits()).check(
        cmd.tier, [step_work("generate", cmd.tier, recipe, cmd.width, cmd.height)])
    jobs = [JobRequested(job_id=job_id, kind="generate", project_id=asset.project_id,
                         asset_id=asset.asset_id, requested_by=cmd.requested_by,
                         recipe=generation_recipe(cmd, cmd.seed + index),
                         input_version_id=cmd.input_version_id, tier=cmd.tier,
                         options=dict(cmd.options))
            for index, job_id in enumerate(cmd.job_ids)]
    return jobs, JobsRequested(job_ids=list(cmd.job_ids), operation="generate", tier=cmd.tier)


def pending_finals(store: EventStore, asset: AssetState) -> int:
    """Final renders the asset's queued or running jobs will make (failed and cancelled
    ones do not count: a failed one frees its place under the cap until retried; a
    promotion counts each step it re-makes)."""
    live = 0
    for job_id, tier in asset.pending_jobs.items():
        if tier != "final":
            continue
        state, _, _ = load_job(store, job_id)
        if not state.finished and state.request is not None:
            live += len(state.request.options.get("steps") or [None])
    return live


def asset_expected(if_match: int, folded_version: int, tier: str) -> int:
    """The asset version a job request appends at. Only final renders are decided on the
    asset's own history (drafts first, the cap on finals); a draft's decision holds
    whatever is appended after it, so without If-Match it appends at the stream's version
    then and cannot lose a race on a busy asset."""
    return expected(if_match, folded_version if tier == "final" else ANY)


def job_appends(asset_id: str, asset_version: int, jobs: list[JobRequested],
                asset_event: JobsRequested) -> list[StreamAppend]:
    return [StreamAppend(stream_id("asset", asset_id), "asset", asset_version, [asset_event]),
            *[StreamAppend(stream_id("job", job.job_id), "job", NO_STREAM, [job])
              for job in jobs]]


def jobs_result(recorded: list[Recorded]) -> dict[str, Any]:
    """The 202 body, built from the recorded events (a repeat gives the same body)."""
    _, asset_event = first_of(recorded, JobsRequested)
    jobs = all_of(recorded, JobRequested)
    first = jobs[0]
    return {
        "asset_id": first.asset_id, "tier": first.tier, "kind": first.kind,
        "input_version_id": first.input_version_id,
        "jobs": [{"job_id": job.job_id, "status": "requested", "seed": job.recipe.get("seed"),
                  "operation": job.recipe.get("operation"), "recipe": job.recipe,
                  "url": f"/api/jobs/{job.job_id}", **_steps_of(job)} for job in jobs],
        "position": recorded[-1].position,
    }


def _steps_of(job: JobRequested) -> dict[str, Any]:
    """A multi-step job's steps (a promotion's chain), each its operation and recipe."""
    steps = job.options.get("steps")
    if not steps:
        return {}
    return {"steps": [{"operation": step["operation"], "derived_from": step["derived_from"],
                       "recipe": step["recipe"]} for step in steps]}


Loaded = tuple[AssetState, int, ProjectState]


def _run(store: EventStore, meta: Metadata, if_match: int, load: Callable[[], Loaded],
         build: Callable[[AssetState, ProjectState], Generate],
         limits: JobLimits | None) -> dict[str, Any]:
    """Shared plan: load (asset, version, project), build a Generate, decide, append."""

    def plan() -> list[StreamAppend]:
        asset, version, project = load()
        cmd = build(asset, project)
        jobs, asset_event = decide_generation(project, asset, cmd, pending_finals(store, asset),
                                              limits)
        return job_appends(asset.asset_id, asset_expected(if_match, version, asset_event.tier),
                           jobs, asset_event)

    return jobs_result(execute(store, meta, plan, if_match=if_match))


def request_generation(store: EventStore, principal: Principal, meta: Metadata, asset_id: str,
                       params: dict[str, Any], *, if_match: int = ANY,
                       limits: JobLimits | None = None) -> dict[str, Any]:
    """Request ``params["variations"]`` generations for an asset (creator role).

    ``params``: prompt, negative_prompt, seed (None: drawn), variations, tier, width,
    height, steps, guidance, scheduler. Returns the jobs body. Raises NotFound,
    Forbidden, PolicyViolation, DomainError (JobTooLong past the time limit).
    """
    variations = params.get("variations", 1)
    seed = params.get("seed")
    seed = draw_seed(variations) if seed is None else seed

    def load() -> Loaded:
        asset, version, project, _ = load_asset_as(store, principal, asset_id, CREATOR)
        return asset, version, project

    def build(asset: AssetState, _project: ProjectState) -> Generate:
        return Generate(
            asset_id=asset.asset_id, requested_by=principal.user_id,
            prompt=params["prompt"], negative_prompt=params.get("negative_prompt") or "",
            tier=params.get("tier", "draft"), width=params["width"], height=params["height"],
            seed=seed, job_ids=tuple(new_id() for _ in range(variations)),
            steps=params.get("steps"), guidance=params.get("guidance"),
            scheduler=params.get("scheduler"), extras=recipe_extras(store, params))

    return _run(store, meta, if_match, load, build, limits)


def request_template_generation(store: EventStore, principal: Principal, meta: Metadata,
                                template_id: str, params: dict[str, Any], *,
                                max_prompt_chars: int, max_side: int, if_match: int = ANY,
                                limits: JobLimits | None = None) -> dict[str, Any]:
    """A generation from a template: its prompt filled with ``params["variables"]``, its
    parameters as defaults under ``params``; the recipe records the template id and
    version. The asset must be in the template's project (NotFound otherwise)."""
    asset_id = params["asset_id"]
    loaded: dict[str, Any] = {}

    def load() -> Loaded:
        template, template_version = load_template_as(store, principal, template_id, CREATOR)
        asset, version, project, _ = load_asset_as(store, principal, asset_id, CREATOR)
        if asset.project_id != template.project_id:
            # Another project's asset: the same answer as an unknown id, no leak.
            raise NotFound(f"asset {asset_id} does not exist")
        loaded["template"] = (template, template_version)
        return asset, version, project

    def build(asset: AssetState, _project: ProjectState) -> Generate:
        template, template_version = loaded["template"]
        merged = {**template.parameters, **{k: v for k, v in params.items() if v is not None}}
        prompt = render(template.prompt, params.get("variables", {}))
        if not prompt.strip() or len(prompt) > max_prompt_chars:
            raise DomainError(f"the filled-in prompt is {len(prompt)} characters; it must be "
                              f"1..{max_prompt_chars}", field="variables")
        variations = merged.get("variations", 1)
        seed = merged.get("seed")
        if "width" not in merged or "height" not in merged:
            raise DomainError("width and height are needed: neither the request nor the "
                              "template sets them", field="width")
        check_generation_size(merged["width"], merged["height"], max_side)
        return Generate(
            asset_id=asset.asset_id, requested_by=principal.user_id, prompt=prompt,
            negative_prompt=merged.get("negative_prompt") or template.negative_prompt,
            tier=merged.get("tier", "draft"), width=merged["width"], height=merged["height"],
            seed=draw_seed(variations) if seed is None else seed,
            job_ids=tuple(new_id() for _ in range(variations)),
            steps=merged.get("steps"), guidance=merged.get("guidance"),
            scheduler=merged.get("scheduler"), template_id=template.template_id,
            template_version=template_version)

    return _run(store, meta, if_match, load, build, limits)
