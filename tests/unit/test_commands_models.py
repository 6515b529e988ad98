"""The model registry's decisions: Given registry events / When a registration / Then events."""

from __future__ import annotations

import dataclasses

import pytest

from commands.models import Registry, apply, decide_assign, decide_register
from events.errors import DomainError, NotFound
from events.models import ModelRegistered, ModelTierAssigned
from events.types import decode


def inspected(weights: str = "a" * 64, kind: str = "pipeline") -> dict:
    return {"kind": kind, "spec": "/models/sdxl", "path": "/models/sdxl", "family": "sdxl",
            "pipeline_class": "StableDiffusionXLPipeline", "components": ["unet", "vae"],
            "files": {"unet/diffusion_pytorch_model.safetensors": weights},
            "weights_hash": weights}


def given(*events) -> Registry:
    registry = Registry()
    for event in events:
        apply(registry, event)
    return registry


def test_a_new_model_is_registered_with_its_files_and_tier() -> None:
    events = decide_register(Registry(), inspected(), "sdxl-base", "final")
    assert [type(e) for e in events] == [ModelRegistered, ModelTierAssigned]
    assert events[0].files == {"unet/diffusion_pytorch_model.safetensors": "a" * 64}
    assert events[0].family == "sdxl" and events[1].tier == "final"


def test_the_same_weights_again_record_nothing() -> None:
    registry = given(*decide_register(Registry(), inspected(), "sdxl-base", "final"))
    assert decide_register(registry, inspected(), "sdxl-base", "final") == []


def test_changed_weights_are_a_new_revision_remembering_the_old_hash() -> None:
    registry = given(*decide_register(Registry(), inspected(), "sdxl-base", None))
    events = decide_register(registry, inspected("b" * 64), "sdxl-base", None)
    assert [e.weights_hash for e in events] == ["b" * 64]
    after = given(*decide_register(Registry(), inspected(), "sdxl-base", None), *events)
    assert after.entries["sdxl-base"].revisions == 2
    assert after.entries["sdxl-base"].previous_hashes == ["a" * 64]


def test_a_lora_cannot_run_a_tier() -> None:
    with pytest.raises(DomainError, match="LoRA adapter"):
        decide_register(Registry(), inspected(kind="lora"), "ink", "draft")
    registry = given(*decide_register(Registry(), inspected(kind="lora"), "ink", None))
    with pytest.raises(DomainError, match="LoRA adapter"):
        decide_assign(registry, "draft", "ink")


def test_bad_names_and_tiers_are_refused() -> None:
    with pytest.raises(DomainError, match="model name"):
        decide_register(Registry(), inspected(), "no spaces please", None)
    with pytest.raises(DomainError, match="unknown tier 'best'"):
        decide_register(Registry(), inspected(), "sdxl", "best")
    with pytest.raises(NotFound, match="no registered model named 'ghost'"):
        decide_assign(Registry(), "draft", "ghost")


def test_a_checkpoint_given_a_config_folder_is_a_new_registration_and_old_rows_read_none(
        ) -> None:
    registry = given(*decide_register(Registry(), inspected(), "sdxl-base", None))
    [event] = decide_register(registry, {**inspected(), "config": "/models/sdxl-config"},
                              "sdxl-base", None)
    assert event.config == "/models/sdxl-config"
    stored_v1 = {k: v for k, v in dataclasses.asdict(event).items() if k != "config"}
    assert decode("model.registered", 1, stored_v1).config is None
