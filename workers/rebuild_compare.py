"""How close a rebuilt image is to the recorded one.

Verdicts, best first:

- ``bit_exact``: the same file bytes (same SHA-256 content hash);
- ``pixel_equal``: different bytes, the same decoded pixels (e.g. another zlib);
- ``within_tolerance``: same size, and every channel within ``max_channel_difference``
  and PSNR at least ``min_psnr`` dB;
- ``diverged``: anything else (another size, or differences past the tolerance).

Pure: bytes in, a JSON-ready dict out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
from typing import Any

import numpy as np
from PIL import Image

BIT_EXACT, PIXEL_EQUAL, WITHIN_TOLERANCE, DIVERGED = (
    "bit_exact", "pixel_equal", "within_tolerance", "diverged")
VERDICTS = (BIT_EXACT, PIXEL_EQUAL, WITHIN_TOLERANCE, DIVERGED)
"""Best first: a chain's overall verdict is its worst step's."""


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """What "within tolerance" allows (both limits must hold)."""

    max_channel_difference: int = 8
    min_psnr: float = 40.0

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> Tolerance:
        """From a job's ``options["tolerance"]``, defaults for anything missing."""
        given = (options or {}).get("tolerance") or {}
        return cls(
            max_channel_difference=int(given.get("max_channel_difference",
                                                 cls.max_channel_difference)),
            min_psnr=float(given.get("min_psnr", cls.min_psnr)),
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def compare_images(recorded: bytes | None, rebuilt: bytes, recorded_hash: str,
                   tolerance: Tolerance = Tolerance()) -> dict[str, Any]:
    """Compare a rebuilt image with the recorded one.

    Takes the recorded bytes (None when the stored blob is missing or corrupted: then
    only the hash can be compared), the rebuilt bytes, the recorded content hash and the
    tolerance. Returns {verdict, rebuilt_hash, recorded_hash} plus, when pixels were
    compared, max_channel_difference, changed_pixel_share, psnr (None when equal) and
    size fields when the sizes differ.
    """
    rebuilt_hash = hashlib.sha256(rebuilt).hexdigest()
    result: dict[str, Any] = {"recorded_hash": recorded_hash, "rebuilt_hash": rebuilt_hash}
    if rebuilt_hash == recorded_hash:
        return {**result, "verdict": BIT_EXACT, "max_channel_difference": 0,
                "changed_pixel_share": 0.0, "psnr": None}
    if recorded is None:
        return {**result, "verdict": DIVERGED,
                "reason": "the recorded image is not available to compare pixels"}
    before, after = _pixels(recorded), _pixels(rebuilt)
    if before.shape != after.shape:
        return {**result, "verdict": DIVERGED, "reason": "the sizes differ",
                "recorded_size": [before.shape[1], before.shape[0]],
                "rebuilt_size": [after.shape[1], after.shape[0]]}
    difference = np.abs(before.astype(np.int16) - after.astype(np.int16))
    max_difference = int(difference.max())
    changed = float(np.any(difference > 0, axis=2).mean())
    psnr = _psnr(difference)
    if max_difference == 0:
        verdict = PIXEL_EQUAL
    elif max_difference <= tolerance.max_channel_difference and psnr >= tolerance.min_psnr:
        verdict = WITHIN_TOLERANCE
    else:
        verdict = DIVERGED
    return {**result, "verdict": verdict, "max_channel_difference": max_difference,
            "changed_pixel_share": round(changed, 6),
            "psnr": None if math.isinf(psnr) else round(psnr, 3)}


def worst(verdicts: list[str]) -> str:
    """The worst of some verdicts (``bit_exact`` for none)."""
    return max(verdicts, key=VERDICTS.index, default=BIT_EXACT)


def _pixels(data: bytes) -> np.ndarray:
    # Both images were made or checked by Lineage already; no size guard is needed here.
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _psnr(difference: np.ndarray) -> float:
    mse = float(np.mean(difference.astype(np.float64) ** 2))
    if mse == 0:
        return math.inf
    return 10 * math.log10(255.0**2 / mse)
