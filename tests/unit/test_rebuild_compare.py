"""How a rebuilt image is judged against the recorded one (pure, no model)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from imaging.png import encode_png
from workers.rebuild_compare import (
    BIT_EXACT,
    DIVERGED,
    PIXEL_EQUAL,
    WITHIN_TOLERANCE,
    Tolerance,
    compare_images,
    worst,
)


def picture(seed: int = 0, size: tuple[int, int] = (32, 24)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def png(pixels: np.ndarray, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_same_bytes_are_bit_exact() -> None:
    recorded = encode_png(Image.fromarray(picture()))
    result = compare_images(recorded, recorded, sha(recorded))
    assert result["verdict"] == BIT_EXACT
    assert result["rebuilt_hash"] == result["recorded_hash"] == sha(recorded)


def test_same_pixels_in_other_bytes_are_pixel_equal() -> None:
    pixels = picture()
    recorded, rebuilt = png(pixels, level=1), png(pixels, level=9)
    assert recorded != rebuilt
    result = compare_images(recorded, rebuilt, sha(recorded))
    assert result["verdict"] == PIXEL_EQUAL
    assert result["max_channel_difference"] == 0 and result["psnr"] is None


def test_small_differences_are_within_tolerance_with_figures() -> None:
    pixels = picture()
    nudged = pixels.copy()
    nudged[0, :4, 0] = np.where(nudged[0, :4, 0] < 255, nudged[0, :4, 0] + 1, 254)
    recorded, rebuilt = png(pixels), png(nudged)
    result = compare_images(recorded, rebuilt, sha(recorded))
    assert result["verdict"] == WITHIN_TOLERANCE
    assert result["max_channel_difference"] == 1
    assert result["changed_pixel_share"] == pytest.approx(4 / (32 * 24), abs=1e-6)
    assert result["psnr"] > 60


def test_large_differences_diverge() -> None:
    recorded, rebuilt = png(picture(1)), png(picture(2))
    result = compare_images(recorded, rebuilt, sha(recorded))
    assert result["verdict"] == DIVERGED
    assert result["max_channel_difference"] > 200 and result["psnr"] < 20


def test_a_tighter_tolerance_turns_small_differences_into_divergence() -> None:
    pixels = picture()
    nudged = pixels.copy()
    nudged[:, :, 1] = np.clip(nudged[:, :, 1].astype(int) + 3, 0, 255).astype(np.uint8)
    recorded, rebuilt = png(pixels), png(nudged)
    assert compare_images(recorded, rebuilt, sha(recorded))["verdict"] == WITHIN_TOLERANCE
    strict = Tolerance.from_options({"tolerance": {"max_channel_difference": 2}})
    assert compare_images(recorded, rebuilt, sha(recorded), strict)["verdict"] == DIVERGED


def test_other_sizes_diverge_and_say_so() -> None:
    recorded, rebuilt = png(picture(size=(32, 24))), png(picture(size=(24, 32)))
    result = compare_images(recorded, rebuilt, sha(recorded))
    assert result["verdict"] == DIVERGED
    assert (result["recorded_size"], result["rebuilt_size"]) == ([32, 24], [24, 32])


def test_without_the_recorded_bytes_only_the_hash_counts() -> None:
    rebuilt = png(picture())
    assert compare_images(None, rebuilt, sha(rebuilt))["verdict"] == BIT_EXACT
    result = compare_images(None, rebuilt, "0" * 64)
    assert result["verdict"] == DIVERGED and "not available" in result["reason"]


def test_the_chain_verdict_is_the_worst_step() -> None:
    assert worst([BIT_EXACT, WITHIN_TOLERANCE, PIXEL_EQUAL]) == WITHIN_TOLERANCE
    assert worst([BIT_EXACT, DIVERGED]) == DIVERGED
    assert worst([]) == BIT_EXACT
