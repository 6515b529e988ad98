"""Re-bake requests: which overrides are accepted, and the recipe a re-made step runs.

Given a recorded chain / When a re-bake is decided / Then the first re-made step, or
the refusal naming the field. Pure: no database, no model.
"""

from __future__ import annotations

import pytest

from commands.rebuild import apply_override, decide_rebake
from events.assets import VersionCreated
from events.errors import DomainError


def version(version_id: str, operation: str, parent: str | None = None, *,
            job: bool = True, recipe: dict | None = None) -> VersionCreated:
    return VersionCreated(
        version_id=version_id, asset_id="a", author_id="u", operation=operation,
        tier="draft", content_hash=version_id * 64, width=64, height=64,
        recipe=recipe or {"operation": operation, "prompt": "red jacket", "seed": 1},
        parent_ids=[parent] if parent else [], job_id=f"job-{version_id}" if job else None)


CHAIN = [
    version("g", "generate"),
    version("i", "inpaint", "g", recipe={"operation": "inpaint", "prompt": "red jacket",
                                         "seed": 7, "mask_hash": "m" * 64}),
    version("o", "outpaint", "i"),
    version("u", "upscale", "o"),
    version("d", "adjust", "u", recipe={"operation": "adjust", "adjustments": {"rotate": 90}}),
]


def test_the_first_overridden_step_is_where_the_rebake_starts() -> None:
    start = decide_rebake(CHAIN, {"u": {"seed": 3}, "i": {"prompt": "navy jacket"}})
    assert start == 1


def test_an_override_outside_the_chain_is_refused() -> None:
    with pytest.raises(DomainError, match="not in the chain") as caught:
        decide_rebake(CHAIN, {"elsewhere": {"prompt": "x"}})
    assert caught.value.extra["field"] == "overrides.elsewhere"


def test_no_override_is_refused() -> None:
    with pytest.raises(DomainError, match="at least one override"):
        decide_rebake(CHAIN, {})


@pytest.mark.parametrize(("step", "override", "message"), [
    ("g", {"mask": "m" * 64}, "'mask' cannot be overridden on a generate step"),
    ("d", {"prompt": "x"}, "'prompt' cannot be overridden on a adjust step"),
    ("u", {"margins": {"left": 8}}, "'margins' cannot be overridden"),
    ("i", {"seed": -1}, "seed must be an integer"),
    ("i", {"seed": True}, "seed must be an integer"),
    ("i", {"strength": 1.5}, "strength must be a number in 0..1"),
    ("o", {"margins": {"middle": 8}}, "margins must be an object"),
    ("i", {"prompt": "x" * 2001}, "prompt must be a string of at most 2000"),
    ("i", {}, "non-empty object"),
    ("i", "navy", "non-empty object"),
])  # fmt: skip
def test_bad_override_fields_are_refused_with_their_field(step: str, override: object,
                                                          message: str) -> None:
    with pytest.raises(DomainError, match=message) as caught:
        decide_rebake(CHAIN, {step: override})
    assert caught.value.extra["field"].startswith(f"overrides.{step}")


def test_an_upload_cannot_be_overridden_nor_remade_after_a_change() -> None:
    chain = [version("up", "upload", job=False), version("x", "img2img", "up"),
             version("r", "upload", "x", job=False), version("y", "img2img", "r")]
    with pytest.raises(DomainError, match="uploaded or imported"):
        decide_rebake(chain, {"up": {"prompt": "x"}})
    with pytest.raises(DomainError, match="Re-bake up to its parent"):
        decide_rebake(chain, {"x": {"prompt": "x"}})
    assert decide_rebake(chain, {"y": {"seed": 5}}) == 3


def test_the_remade_recipe_carries_the_override_and_where_it_derives_from() -> None:
    recorded = CHAIN[1].recipe
    changed = apply_override(recorded, {"prompt": "navy jacket", "mask": "n" * 64},
                             derived_from="i")
    assert changed["prompt"] == "navy jacket"
    assert changed["mask_hash"] == "n" * 64 and "mask" not in changed
    assert changed["seed"] == 7 and changed["derived_from"] == "i"
    assert recorded["prompt"] == "red jacket"  # the recorded recipe is left alone


def test_a_remade_upscale_does_not_inherit_the_resize_note_of_the_old_one() -> None:
    recorded = {"operation": "upscale", "scale": 2, "native_scale": 4,
                "resized_after_upscale": {"from": [256, 256], "to": [128, 128]}}
    changed = apply_override(recorded, {"scale": 4}, derived_from="u")
    assert changed["scale"] == 4
    assert "resized_after_upscale" not in changed and "native_scale" not in changed
