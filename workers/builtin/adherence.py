"""Prompt adherence of the built-in model, judged by colour statistics (not pixel equality).

`held_out_prompts` builds a fixed list of prompts whose colour-and-shape pairs the
training scenes never contained (`scenes.HELD_OUT_PAIRS`), each with a place and a
background; `judge` says whether an image shows the named colour in the named place and
the named background at the borders. bench/builtin_model.py reports the pass rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workers.builtin import scenes

# How far (RGB distance) a pixel may be from a palette colour to count as that colour.
COLOUR_TOLERANCE = 90.0
_PALETTE = np.array(list(scenes.COLOURS.values()), dtype=np.float32)
_NAMES = list(scenes.COLOURS)


@dataclass(frozen=True)
class Case:
    """One prompt and what a faithful picture of it shows."""

    prompt: str
    colour: str
    place: str
    background: str
    shape: str = ""
    size: str = ""

    def scene(self) -> scenes.Scene:
        """The picture this prompt describes, drawn exactly (the judge's ceiling)."""
        cx, cy = scenes.POSITIONS[self.place]
        thing = scenes.Thing(self.colour, self.shape, scenes.SIZES[self.size], cx, cy)
        return scenes.Scene(self.background, (thing,), self.prompt)


@dataclass(frozen=True)
class Verdict:
    """Whether each check passed, with the measured figures."""

    object_ok: bool
    background_ok: bool
    inside: float  # share of the named place's pixels in the named colour
    outside: float  # the same share in the opposite place
    border: str  # what the borders look like ("blue", "dark", ...)

    @property
    def passed(self) -> bool:
        return self.object_ok and self.background_ok


_OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top",
             "top left": "bottom right", "top right": "bottom left",
             "bottom left": "top right", "bottom right": "top left"}
_SOLID_BACKGROUNDS = ("white", "black", "blue", "green", "grey", "yellow", "purple", "pink")


def held_out_prompts(count: int = 120) -> list[Case]:
    """`count` distinct prompts (100 or more by default), each made of a held-out
    colour-shape pair, a place, a size and a background the colour stands out on; a
    fixed selection (seeded) from every such combination."""
    combos = []
    for colour, shape in sorted(scenes.HELD_OUT_PAIRS):
        for place in sorted(_OPPOSITE):
            for background in (*_SOLID_BACKGROUNDS, "night", "sunset"):
                if scenes.clashes(colour, background) or (
                        background in scenes.COLOURS and _close(colour, background)):
                    continue
                for size in ("small", "large"):
                    words = (f"{scenes.thing_phrase(colour, shape, size)} "
                             f"{scenes.POSITION_PHRASES[place][0]} "
                             f"{scenes.background_phrase(background)}")
                    combos.append(Case(words, colour, place, background, shape, size))
    chosen = np.random.default_rng(1204).permutation(len(combos))[:count]
    return [combos[i] for i in sorted(chosen)]


def _close(a: str, b: str) -> bool:
    ca, cb = np.array(scenes.COLOURS[a], float), np.array(scenes.COLOURS[b], float)
    return float(np.linalg.norm(ca - cb)) < 2 * COLOUR_TOLERANCE


def colour_names(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest palette colour index per pixel and the distance to it ((H, W) each)."""
    flat = pixels.reshape(-1, 3).astype(np.float32)
    distances = np.linalg.norm(flat[:, None, :] - _PALETTE[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    return (nearest.reshape(pixels.shape[:2]),
            distances[np.arange(len(flat)), nearest].reshape(pixels.shape[:2]))


def region(pixels: np.ndarray, place: str) -> np.ndarray:
    """The pixels around a named place (a box of 40% of each side, clipped)."""
    h, w = pixels.shape[:2]
    cx, cy = scenes.POSITIONS[place]
    x0, x1 = int(max(0.0, cx - 0.2) * w), int(min(1.0, cx + 0.2) * w)
    y0, y1 = int(max(0.0, cy - 0.2) * h), int(min(1.0, cy + 0.2) * h)
    return pixels[y0:y1, x0:x1]


def share_of(pixels: np.ndarray, colour: str) -> float:
    """The share of `pixels` whose nearest palette colour is `colour`, within tolerance."""
    nearest, distance = colour_names(pixels)
    hits = (nearest == _NAMES.index(colour)) & (distance < COLOUR_TOLERANCE)
    return float(hits.mean())


def borders(pixels: np.ndarray) -> np.ndarray:
    """The outer 8% frame of the image as a list of pixels."""
    h, w = pixels.shape[:2]
    m = max(1, int(0.08 * min(h, w)))
    return np.concatenate([pixels[:m].reshape(-1, 3), pixels[-m:].reshape(-1, 3),
                           pixels[:, :m].reshape(-1, 3), pixels[:, -m:].reshape(-1, 3)])


def background_matches(pixels: np.ndarray, background: str) -> tuple[bool, str]:
    """Whether the borders look like `background`; also a word for what they look like."""
    frame = borders(pixels).astype(np.float32)
    luminance = float((frame @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
    if background == "night":
        return luminance < 70, f"luminance {luminance:.0f}"
    if background == "sunset":
        h = pixels.shape[0]
        top = pixels[: h // 4].reshape(-1, 3).mean(axis=0)
        bottom = pixels[-h // 4:].reshape(-1, 3).mean(axis=0)
        warm = bottom[0] > bottom[2] + 40 and top[2] > bottom[2]
        return bool(warm), f"top {top.round()} bottom {bottom.round()}"
    nearest, distance = colour_names(frame.reshape(-1, 1, 3))
    counts = np.bincount(nearest.ravel()[distance.ravel() < COLOUR_TOLERANCE],
                         minlength=len(_NAMES))
    dominant = _NAMES[int(counts.argmax())] if counts.any() else "none"
    return dominant == background, dominant


def pass_rate(images: np.ndarray, cases: list[Case]) -> dict[str, float]:
    """Share of (N, H, W, 3) uint8 `images` that pass, and of each check, against `cases`."""
    verdicts = [judge(image, case) for image, case in zip(images, cases, strict=True)]
    n = max(len(verdicts), 1)
    return {"passed": sum(v.passed for v in verdicts) / n,
            "object": sum(v.object_ok for v in verdicts) / n,
            "background": sum(v.background_ok for v in verdicts) / n}


def judge(pixels: np.ndarray, case: Case) -> Verdict:
    """Judge an (H, W, 3) uint8 image against a case."""
    inside = share_of(region(pixels, case.place), case.colour)
    outside = share_of(region(pixels, _OPPOSITE[case.place]), case.colour)
    background_ok, border = background_matches(pixels, case.background)
    return Verdict(object_ok=inside >= 0.05 and inside > 2 * outside,
                   background_ok=background_ok, inside=inside, outside=outside, border=border)
