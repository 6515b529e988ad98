"""Generation, edit and template decisions and the project policies (pure)."""

from __future__ import annotations

import pytest

from commands.asset_state import AssetState, evolve
from commands.assets import decide_create
from commands.edits import Edit, decide_edit
from commands.generation import MAX_SEED, Generate, decide_generation, draw_seed
from commands.projects import ProjectState
from commands.templates import TemplateState, decide_revise, render, variables_of
from events.assets import VersionCreated
from events.errors import DomainError, PolicyViolation
from events.templates import TemplateRevised
from imaging.masks import region_mask
from imaging.png import decode_image


def asset_with(*versions: VersionCreated) -> AssetState:
    state = evolve(AssetState(), decide_create("a1", "p1", "Hero", "", [])[0])
    for version in versions:
        state = evolve(state, version)
    return state


def version(version_id: str, tier: str = "draft", width: int = 512, height: int = 512,
            recipe: dict | None = None) -> VersionCreated:
    return VersionCreated(version_id=version_id, asset_id="a1", author_id="ann",
                          operation="generate", tier=tier, content_hash="h",
                          width=width, height=height, recipe=recipe or {"seed": 1})


def project(**policies) -> ProjectState:
    state = ProjectState(project_id="p1", name="P")
    state.policies.update(policies)
    return state


def generate(tier: str = "draft", seed: int = 10, variations: int = 3) -> Generate:
    return Generate(asset_id="a1", requested_by="ann", prompt="a red fox", tier=tier,
                    width=512, height=512, seed=seed,
                    job_ids=tuple(f"j{i}" for i in range(variations)))


def test_variations_get_one_job_each_with_consecutive_seeds():
    jobs, asset_event = decide_generation(project(), asset_with(), generate(), 0)

    assert [job.recipe["seed"] for job in jobs] == [10, 11, 12]
    assert {job.kind for job in jobs} == {"generate"}
    assert jobs[0].recipe == {"operation": "generate", "tier": "draft", "prompt": "a red fox",
                              "negative_prompt": "", "seed": 10, "width": 512, "height": 512}
    assert asset_event.job_ids == ["j0", "j1", "j2"] and asset_event.tier == "draft"


def test_seeds_may_not_run_past_the_largest_seed():
    with pytest.raises(DomainError, match="pass the largest seed"):
        decide_generation(project(), asset_with(), generate(seed=MAX_SEED - 1), 0)
    assert all(draw_seed(16) <= MAX_SEED - 15 for _ in range(200))


def test_given_too_few_drafts_when_requesting_a_final_then_policy_names_the_numbers():
    asset = asset_with(version("v1"))

    with pytest.raises(PolicyViolation) as info:
        decide_generation(project(min_drafts_before_final=2), asset, generate("final", 1, 1), 0)

    assert info.value.policy == "min_drafts_before_final"
    assert info.value.extra == {"policy": "min_drafts_before_final", "drafts": 1, "required": 2}
    decide_generation(project(min_drafts_before_final=1), asset, generate("final", 1, 1), 0)


def test_final_cap_counts_finals_made_and_pending():
    asset = asset_with(version("v1", tier="final"))

    decide_generation(project(final_render_cap=3), asset, generate("final", 1, 1), 1)
    with pytest.raises(PolicyViolation, match="1 final\\(s\\) and 1 pending; 2 more") as info:
        decide_generation(project(final_render_cap=3), asset, generate("final", 1, 2), 1)
    assert info.value.extra["cap"] == 3


def test_compute_budget_applies_to_every_tier():
    spent = project(compute_budget_seconds=10.0)
    spent.compute_used_seconds = 10.0

    with pytest.raises(PolicyViolation, match="used 10 of its 10 GPU-seconds"):
        decide_generation(spent, asset_with(), generate("draft"), 0)


def edit(operation: str, **params) -> Edit:
    mask_hash = params.pop("mask_hash", None)
    return Edit(version_id="v1", requested_by="ann", operation=operation, job_id="j1", seed=5,
                max_side=1024, params=params, mask_hash=mask_hash)


def test_edit_keeps_the_source_prompt_and_tier_unless_told():
    asset = asset_with(version("v1", tier="final", recipe={"prompt": "fox", "seed": 1}))

    jobs, asset_event = decide_edit(project(), asset, edit("img2img", strength=0.4), 0)

    assert jobs[0].recipe == {"operation": "img2img", "tier": "final", "seed": 5,
                              "strength": 0.4, "prompt": "fox"}
    assert jobs[0].input_version_id == "v1" and jobs[0].kind == "edit"
    assert asset_event.operation == "img2img"


def test_edit_inputs_are_checked_before_a_job_is_requested():
    asset = asset_with(version("v1", width=512, height=512))

    with pytest.raises(DomainError, match="upscaled image 2048x2048 exceeds the maximum side"):
        decide_edit(project(), asset, edit("upscale", scale=4), 0)
    with pytest.raises(DomainError, match="outpainted canvas"):
        decide_edit(project(), asset, edit("outpaint", margins={"left": 600}), 0)
    with pytest.raises(DomainError, match="inpaint needs a mask"):
        decide_edit(project(), asset, edit("inpaint"), 0)
    odd = asset_with(version("v1", width=500, height=512))
    with pytest.raises(DomainError, match="multiples of 8, not 500x512"):
        decide_edit(project(), odd, edit("img2img"), 0)
    jobs, _ = decide_edit(project(), odd, edit("adjust", adjustments={"rotate": 90}), 0)
    assert jobs[0].recipe == {"operation": "adjust", "tier": "draft",
                              "adjustments": {"rotate": 90}}


def test_region_mask_is_white_inside_the_box():
    mask = decode_image(region_mask({"x": 0.5, "y": 0, "w": 0.5, "h": 0.5}, 64, 32),
                        max_pixels=10_000, mode="L")

    assert mask.size == (64, 32)
    assert mask.getpixel((40, 5)) == 255 and mask.getpixel((10, 5)) == 0
    assert mask.getpixel((40, 20)) == 0


def test_templates_fill_variables_and_name_missing_or_unknown_ones():
    assert variables_of("a {subject} in {place}, {{literal}}") == ["subject", "place"]
    assert render("a {subject} {{x}}", {"subject": "fox"}) == "a fox {x}"
    with pytest.raises(DomainError, match="missing variables: place; unknown variables: colour"):
        render("{subject} in {place}", {"subject": "fox", "colour": "red"})
    with pytest.raises(DomainError, match="stray '\\{'"):
        variables_of("a {bad name}")


def test_revising_a_template_with_no_change_appends_nothing():
    state = TemplateState(template_id="t1", project_id="p1", name="n", prompt="a {x}")

    assert decide_revise(state, {"prompt": "a {x}"}) == []
    assert decide_revise(state, {"prompt": "b {x}"}) == [
        TemplateRevised(prompt="b {x}", negative_prompt="", parameters={})]
