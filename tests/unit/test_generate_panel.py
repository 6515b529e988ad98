"""The generate panel's size presets (channels first, renderable, over the limit
disabled), its size field, and how the templates page marks a prompt's variables."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from app.studio.making_generate import parse_size, size_presets
from app.studio.making_templates import template_parts


def test_channel_sizes_come_first_rounded_up_to_what_a_model_renders() -> None:
    presets = size_presets([{"name": "social", "min_width": 1080, "min_height": 1350},
                            {"name": "print", "min_width": 4096, "min_height": 4096}],
                           max_side=2048)
    assert [(p["value"], p["disabled"]) for p in presets[:2]] == [
        ("1080x1352", False), ("4096x4096", True)]
    assert presets[0]["label"] == "social · 1080 × 1352"
    assert [p["value"] for p in presets[2:]] == ["64", "128", "256", "512", "768", "1024"]


def test_the_size_field_is_a_side_or_width_by_height() -> None:
    assert parse_size("512") == (512, 512)
    assert parse_size("1080x1352") == (1080, 1352)
    assert parse_size("") is None
    with pytest.raises(ValidationError) as refused:
        parse_size("big")
    assert "width x height" in str(refused.value.messages["size"])


def test_a_template_prompt_marks_its_variables_and_prints_literal_braces_once() -> None:
    parts = template_parts("a {product} on {{marble}}")
    assert [(p["text"], p["variable"]) for p in parts] == [
        ("a ", False), ("product", True), (" on ", False), ("{", False), ("marble", False),
        ("}", False)]
