"""The built-in model's training scenes, its tokenizer and its adherence judge."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workers import models
from workers.builtin import adherence, architecture, scenes


@pytest.fixture(scope="module")
def drawn() -> list[scenes.Scene]:
    return scenes.sample_scenes(np.random.default_rng(7), 3000)


def test_held_out_pairs_are_never_drawn(drawn):
    pairs = {(t.colour, t.shape) for s in drawn for t in s.things}
    assert not pairs & scenes.HELD_OUT_PAIRS
    # ...while each held-out colour and shape is drawn in other combinations.
    for colour, shape in scenes.HELD_OUT_PAIRS:
        assert any(c == colour for c, _ in pairs)
        assert any(s == shape for _, s in pairs)


def test_captions_name_every_object_drawn(drawn):
    for scene in drawn:
        for thing in scene.things:
            assert f"{thing.colour} {thing.shape}" in scene.caption


def test_rendered_objects_have_their_colour_where_the_caption_puts_them(drawn):
    solid = [s for s in drawn if len(s.things) == 1
             and s.things[0].shape in ("circle", "square", "heart", "star")][:40]
    images = scenes.render(solid, seed=1).permute(0, 2, 3, 1).numpy() * 255
    for scene, image in zip(solid, images, strict=True):
        thing = scene.things[0]
        y, x = int(thing.cy * scenes.SIZE), int(thing.cx * scenes.SIZE)
        expected = np.array(scenes.COLOURS[thing.colour], dtype=float)
        assert np.linalg.norm(image[y, x] - expected) < 40, scene.caption


def test_every_known_word_is_one_token():
    tokenizer = architecture.build_tokenizer()
    for word in architecture.vocabulary():
        assert len(tokenizer(word).input_ids) == 3, word  # start, the word, end


def test_the_shipped_model_uses_the_tokenizer_the_training_code_builds():
    from transformers import CLIPTokenizer

    shipped = CLIPTokenizer.from_pretrained(models.SKETCH_DIR / "txt2img" / "tokenizer")
    built = architecture.build_tokenizer()
    for prompt in ("a small navy jacket in the top left corner at sunset", "a red car!"):
        assert shipped(prompt).input_ids == built(prompt).input_ids


def test_the_shipped_model_records_how_it_was_trained():
    record = json.loads((models.SKETCH_DIR / "train.json").read_text())
    assert record["stages"]["unet"]["steps"] > 0
    assert record["settings"]["seed"] == architecture_seed()
    assert models.model_defaults(models.BUILTIN_SKETCH) == {"width": 256, "height": 256}


def architecture_seed() -> int:
    from workers.builtin.train import Settings

    return Settings().seed


def test_adherence_prompts_are_held_out_and_many():
    cases = adherence.held_out_prompts()
    assert len(cases) >= 100
    assert len({c.prompt for c in cases}) == len(cases)
    for case in cases:
        assert any(f"{colour} {shape}" in case.prompt and colour == case.colour
                   for colour, shape in scenes.HELD_OUT_PAIRS)


def test_the_judge_passes_faithful_pictures_and_fails_wrong_ones():
    cases = adherence.held_out_prompts(24)
    for case in cases:
        shape = next(s for c, s in scenes.HELD_OUT_PAIRS if c == case.colour)
        cx, cy = scenes.POSITIONS[case.place]
        right = scenes.Scene(case.background, (scenes.Thing(case.colour, shape, 0.2, cx, cy),),
                             case.prompt)
        wrong_place = scenes.Scene(case.background,
                                   (scenes.Thing(case.colour, shape, 0.2, 1 - cx, 1 - cy),), "")
        images = (scenes.render([right, wrong_place], seed=3) * 255).round().byte()
        good, bad = (img.permute(1, 2, 0).numpy() for img in images)
        assert adherence.judge(good, case).passed, (case, adherence.judge(good, case))
        assert not adherence.judge(bad, case).object_ok, case
