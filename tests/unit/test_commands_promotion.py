"""Which steps a promotion re-makes and with which recipes (pure)."""

from __future__ import annotations

import pytest

from commands.promotion import promotion_start, promotion_steps
from events.assets import VersionCreated
from events.errors import DomainError


def step(version_id: str, operation: str, *, parent: str | None = None, tier: str = "draft",
         job: bool = True, **recipe: object) -> VersionCreated:
    return VersionCreated(
        version_id=version_id, asset_id="a1", author_id="ann", operation=operation, tier=tier,
        content_hash="h", width=64, height=64, parent_ids=[parent] if parent else [],
        job_id=f"job-{version_id}" if job else None,
        recipe={"operation": operation, "tier": tier, **recipe})


RECORDED = {"seed": 3, "steps": 2, "prompt": "a fox", "model_id": "builtin:tiny",
            "model_weights_hash": "w" * 64, "scheduler": "DDIMScheduler",
            "scheduler_config": {"beta_start": 0.1}, "environment": {"torch": "2"},
            "output_width": 64}


def test_an_edited_draft_remakes_its_generation_and_every_edit_after_it():
    chain = [step("g", "generate", **RECORDED, width=64, height=64),
             step("i", "inpaint", parent="g", **RECORDED, strength=0.8, mask_hash="m" * 64),
             step("a", "adjust", parent="i", adjustments={"brightness": 1.1})]

    steps = promotion_steps(chain, {})

    assert [s["derived_from"] for s in steps] == ["g", "i", "a"]
    assert (steps[0]["parent_id"], steps[0]["input_version_id"]) == ("g", None)
    generate, inpaint, adjust = (s["recipe"] for s in steps)
    assert generate == {"operation": "generate", "tier": "final", "seed": 3, "steps": 2,
                        "prompt": "a fox", "scheduler": "DDIMScheduler", "width": 64,
                        "height": 64, "promoted_from": "a", "derived_from": "g"}
    assert inpaint["strength"] == 0.8 and steps[1]["mask_hash"] == "m" * 64
    assert adjust["adjustments"] == {"brightness": 1.1} and adjust["tier"] == "final"


def test_steps_overrides_every_diffusion_step_and_sizes_only_a_lone_generation():
    lone = [step("g", "generate", **RECORDED, width=64, height=64)]
    [only] = promotion_steps(lone, {"width": 128, "steps": 9})
    assert (only["recipe"]["width"], only["recipe"]["height"], only["recipe"]["steps"]) == (
        128, 64, 9)
    edited = [*lone, step("x", "img2img", parent="g", **RECORDED)]
    assert [s["recipe"]["steps"] for s in promotion_steps(edited, {"steps": 9})] == [9, 9]
    with pytest.raises(DomainError, match="edited \\(img2img\\)"):
        promotion_steps(edited, {"height": 128})


def test_the_chain_starts_at_its_last_generation_or_after_its_last_upload():
    generate = step("g", "generate", **RECORDED)
    upload = step("u", "upload", parent="g", job=False)
    edit = step("e", "img2img", parent="u", **RECORDED)
    regenerated = step("f", "generate", parent="e", tier="final", **RECORDED)
    touched = step("t", "img2img", parent="f", **RECORDED)

    assert promotion_start([generate, upload, edit]) == 2
    steps = promotion_steps([generate, upload, edit], {})
    assert (steps[0]["parent_id"], steps[0]["input_version_id"]) == ("u", "u")
    assert promotion_start([generate, upload, edit, regenerated, touched]) == 3
    assert promotion_start([generate, upload]) == 2


def test_what_cannot_be_promoted():
    generate = step("g", "generate", **RECORDED)
    with pytest.raises(DomainError, match="is already final"):
        promotion_steps([step("f", "generate", tier="final", **RECORDED)], {})
    with pytest.raises(DomainError, match="no prompt and seed to promote"):
        promotion_steps([generate, step("u", "upload", parent="g", job=False)], {})
    with pytest.raises(DomainError, match="no prompt and seed to promote"):
        promotion_steps([step("u", "upload", job=False),
                         step("a", "adjust", parent="u", adjustments={"rotate": 90})], {})
