"""Procedural captioned scenes: the built-in model's whole training set, drawn by code.

A scene is a background plus one or two objects, each with a colour, a shape, a size and
a position, and a caption that names some or all of those. `sample_scenes` draws scene
descriptions from a seeded NumPy generator; `render` paints a batch of them with torch on
any device (soft-edged shapes from signed distances), so the same code feeds a GPU
training run and the CPU tests.

Some colour-and-shape pairs are never drawn (`HELD_OUT_PAIRS`): the prompt-adherence
suite asks for exactly those, so its pass rate measures composition, not memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

SIZE = 256

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 25),
    "yellow": (245, 215, 40),
    "green": (45, 165, 65),
    "blue": (35, 90, 225),
    "purple": (135, 55, 185),
    "pink": (245, 135, 185),
    "brown": (125, 78, 38),
    "black": (18, 18, 18),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "navy": (22, 32, 105),
}
BASIC_SHAPES = ("circle", "square", "triangle", "star", "heart", "ring", "stripe")
OBJECTS = ("bottle", "table", "lighthouse", "jacket", "tree", "house", "boat")
SHAPES = BASIC_SHAPES + OBJECTS
SIZES = {"small": 0.085, "medium": 0.14, "large": 0.23}
POSITIONS: dict[str, tuple[float, float]] = {
    "centre": (0.5, 0.5),
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "top left": (0.25, 0.25),
    "top right": (0.75, 0.25),
    "bottom left": (0.25, 0.75),
    "bottom right": (0.75, 0.75),
}
POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "centre": ("in the centre", "in the center"),
    "left": ("on the left",),
    "right": ("on the right",),
    "top": ("at the top",),
    "bottom": ("at the bottom",),
    "top left": ("at the top left", "in the top left corner"),
    "top right": ("at the top right", "in the top right corner"),
    "bottom left": ("at the bottom left", "in the bottom left corner"),
    "bottom right": ("at the bottom right", "in the bottom right corner"),
}
SCENERY = ("sky", "sea", "grass", "sunset", "night")
SCENERY_PHRASES: dict[str, tuple[str, ...]] = {
    "sky": ("in the sky", "on a sky background"),
    "sea": ("by the sea", "on a sea background"),
    "grass": ("on grass", "on a grass background"),
    "sunset": ("at sunset", "on a sunset background"),
    "night": ("at night", "on a night background"),
}
RELATIONS = ("left of", "right of", "above", "below", "and")

# One basic shape per colour is never drawn in that colour during training.
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    (colour, BASIC_SHAPES[(i * 3 + 1) % len(BASIC_SHAPES)]) for i, colour in enumerate(COLOURS)
)

# Object colours that would vanish against a background (never paired when drawing).
_CLASHES: dict[str, frozenset[str]] = {
    "sky": frozenset({"blue", "white"}),
    "sea": frozenset({"blue", "navy"}),
    "grass": frozenset({"green"}),
    "sunset": frozenset({"orange", "pink", "purple"}),
    "night": frozenset({"black", "navy"}),
}
_NEAR = {
    frozenset({"black", "navy"}),
    frozenset({"orange", "yellow"}),
    frozenset({"pink", "white"}),
    frozenset({"red", "orange"}),
    frozenset({"brown", "black"}),
    frozenset({"purple", "navy"}),
    frozenset({"blue", "navy"}),
    frozenset({"pink", "orange"}),
}


@dataclass(frozen=True)
class Thing:
    """One object of a scene: colour and shape names, half-size and centre in [0, 1]."""

    colour: str
    shape: str
    size: float
    cx: float
    cy: float


@dataclass(frozen=True)
class Scene:
    """A background (a colour name or a scenery name), its objects and its caption."""

    background: str
    things: tuple[Thing, ...]
    caption: str
    seed: int = 0
    extras: dict[str, float] = field(default_factory=dict)


def article(word: str) -> str:
    """'an' before a vowel sound, else 'a'."""
    return "an" if word[0] in "aeiou" else "a"


def clashes(colour: str, background: str) -> bool:
    """Whether `colour` would be hard to see on `background` (same or near colours)."""
    if background in _CLASHES:
        return colour in _CLASHES[background]
    return colour == background or frozenset({colour, background}) in _NEAR


def thing_phrase(colour: str, shape: str, size_name: str | None) -> str:
    """'a small red circle', 'an orange star', 'a navy jacket'."""
    words = ([size_name] if size_name else []) + [colour, shape]
    return f"{article(words[0])} {' '.join(words)}"


def background_phrase(background: str, variant: int = 0) -> str:
    """The caption's words for a background: 'on a blue background', 'at night'."""
    if background in SCENERY_PHRASES:
        phrases = SCENERY_PHRASES[background]
        return phrases[variant % len(phrases)]
    return f"on {article(background)} {background} background"


def sample_scenes(rng: np.random.Generator, count: int) -> list[Scene]:
    """Draw `count` random scene descriptions with captions (held-out pairs excluded)."""
    return [_sample_scene(rng) for _ in range(count)]


def _pick_thing_kind(rng: np.random.Generator, background: str, avoid: set[str]) -> tuple[str, str]:
    while True:
        colour = str(rng.choice(list(COLOURS)))
        shape = str(rng.choice(SHAPES))
        if (colour, shape) in HELD_OUT_PAIRS or colour in avoid or clashes(colour, background):
            continue
        return colour, shape


def _sample_background(rng: np.random.Generator) -> str:
    if rng.random() < 0.45:
        return str(rng.choice(SCENERY))
    return str(rng.choice(list(COLOURS)))


def _sample_scene(rng: np.random.Generator) -> Scene:
    background = _sample_background(rng)
    say_background = rng.random() < 0.8
    if rng.random() < 0.68:
        things, words = _single(rng, background)
    else:
        things, words = _pair(rng, background)
    if say_background:
        words = f"{words} {background_phrase(background, int(rng.integers(0, 2)))}"
    return Scene(background=background, things=things, caption=words)


def _jitter(rng: np.random.Generator, value: float, spread: float) -> float:
    return float(value + rng.uniform(-spread, spread))


def _single(rng: np.random.Generator, background: str) -> tuple[tuple[Thing, ...], str]:
    colour, shape = _pick_thing_kind(rng, background, set())
    size_name = str(rng.choice(list(SIZES))) if rng.random() < 0.6 else None
    size = SIZES[size_name or str(rng.choice(list(SIZES)))] * rng.uniform(0.9, 1.1)
    words = thing_phrase(colour, shape, size_name)
    if rng.random() < 0.75:
        place = str(rng.choice(list(POSITIONS)))
        cx, cy = POSITIONS[place]
        cx, cy = _jitter(rng, cx, 0.04), _jitter(rng, cy, 0.04)
        phrases = POSITION_PHRASES[place]
        words = f"{words} {phrases[int(rng.integers(0, len(phrases)))]}"
    else:
        cx, cy = float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.25, 0.75))
    return (Thing(colour, shape, float(size), cx, cy),), words


def _pair(rng: np.random.Generator, background: str) -> tuple[tuple[Thing, ...], str]:
    first = _pick_thing_kind(rng, background, set())
    second = _pick_thing_kind(rng, background, {first[0]})
    relation = str(rng.choice(RELATIONS))
    names = [str(rng.choice(("small", "medium"))) if rng.random() < 0.4 else None for _ in "ab"]
    sizes = [SIZES[n or "medium"] * rng.uniform(0.85, 1.05) for n in names]
    across = _jitter(rng, 0.5, 0.12)
    near, far = float(rng.uniform(0.22, 0.34)), float(rng.uniform(0.66, 0.78))
    if relation == "left of":
        centres = [(near, across), (far, across)]
    elif relation == "right of":
        centres = [(far, across), (near, across)]
    elif relation == "above":
        centres = [(across, near), (across, far)]
    elif relation == "below":
        centres = [(across, far), (across, near)]
    else:
        centres = [(near, across), (far, across)]
        if rng.random() < 0.5:
            centres.reverse()
        if rng.random() < 0.5:
            centres = [(y, x) for x, y in centres]
    things = tuple(
        Thing(colour, shape, float(size), cx, cy)
        for (colour, shape), size, (cx, cy) in zip((first, second), sizes, centres, strict=True)
    )
    words = (
        f"{thing_phrase(first[0], first[1], names[0])} {relation} "
        f"{thing_phrase(second[0], second[1], names[1])}"
    )
    return things, words


# --- rendering ------------------------------------------------------------------------


def render(scenes: list[Scene], *, device: str | torch.device = "cpu", seed: int = 0,
           size: int = SIZE) -> torch.Tensor:
    """Paint `scenes` as a float tensor (N, 3, size, size) in [0, 1] on `device`.

    Scenes are painted in groups (all skies at once, all circles of a slot at once), so a
    batch of hundreds costs a few hundred tensor operations. `seed` drives only texture
    (grass, waves, clouds, stars, colour jitter), drawn from a torch generator on the CPU,
    so a batch looks the same on every device.
    """
    gen = torch.Generator().manual_seed(seed)
    n = len(scenes)
    axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    xs, ys = xs.to(device), ys.to(device)
    images = torch.empty((n, 3, size, size), device=device)
    for name in sorted({s.background for s in scenes}):
        index = [i for i, s in enumerate(scenes) if s.background == name]
        images[index] = _background(name, len(index), xs, ys, gen, device)
    max_things = max((len(s.things) for s in scenes), default=0)
    for slot in range(max_things):
        for shape in SHAPES:
            index = [i for i, s in enumerate(scenes)
                     if slot < len(s.things) and s.things[slot].shape == shape]
            if not index:
                continue
            things = [scenes[i].things[slot] for i in index]
            tint = 1.0 + (torch.rand((len(index), 3), generator=gen) - 0.5) * 0.12
            colours = (torch.stack([_rgb(t.colour) for t in things]) * tint).clamp(0, 1)
            images[index] = _paint(images[index], shape, things, colours.to(device), xs, ys, size)
    return images.clamp(0, 1)


def _rgb(name: str) -> torch.Tensor:
    return torch.tensor(COLOURS[name], dtype=torch.float32) / 255.0


def _vgrad(top: tuple[int, ...], bottom: tuple[int, ...], ys: torch.Tensor) -> torch.Tensor:
    """A vertical gradient (3, H, W) from `top` to `bottom` (RGB 0-255) over `ys` in [0, 1]."""
    a = torch.tensor(top, dtype=torch.float32, device=ys.device).view(3, 1, 1) / 255
    b = torch.tensor(bottom, dtype=torch.float32, device=ys.device).view(3, 1, 1) / 255
    return a + (b - a) * ys.unsqueeze(0)


def _rand(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str) -> torch.Tensor:
    return torch.rand(shape, generator=gen).to(device)


def _background(name: str, k: int, xs: torch.Tensor, ys: torch.Tensor, gen: torch.Generator,
                device: torch.device | str) -> torch.Tensor:
    """`k` backgrounds named `name` (a colour or a scenery), as (k, 3, H, W)."""
    size = xs.shape[0]
    if name in COLOURS:
        tint = 1 + (_rand((k, 3, 1, 1), gen, device) - 0.5) * 0.1
        shade = 1.0 - (ys - 0.5) * 0.08
        return (_rgb(name).to(device).view(1, 3, 1, 1) * tint * shade).clamp(0, 1)
    sky = _vgrad((80, 150, 225), (185, 215, 245), ys).expand(k, 3, size, size)
    below = ys.view(1, 1, size, size) >= _rand((k, 1, 1, 1), gen, device) * 0.1 + 0.45
    if name == "sky":
        clouds = _blurred_noise(k, size, gen, device, cells=7)
        cover = ((clouds - 0.68) * 7).clamp(0, 1) * (ys < 0.7).float()
        return sky * (1 - cover) + cover * 0.97
    if name == "sea":
        water = _vgrad((25, 75, 150), (20, 55, 120), ys)
        phase = _rand((k, 1, 1, 1), gen, device) * 6.28
        waves = 0.04 * torch.sin(ys * 180 + 3 * torch.sin(xs * 12) + phase)
        return torch.where(below, water + waves, sky)
    if name == "grass":
        field_ = _vgrad((70, 165, 60), (40, 120, 40), ys)
        texture = (_blurred_noise(k, size, gen, device, cells=40) - 0.5) * 0.12
        return torch.where(below, field_ + texture, sky)
    if name == "sunset":
        top = _vgrad((70, 40, 120), (235, 105, 110), (ys * 2).clamp(0, 1))
        bottom = _vgrad((235, 105, 110), (250, 180, 60), (ys * 2 - 1).clamp(0, 1))
        return torch.where(ys < 0.5, top, bottom).expand(k, 3, size, size).clone()
    if name == "night":
        night = _vgrad((8, 12, 35), (20, 28, 70), ys)
        stars = (_rand((k, 1, size, size), gen, device) > 0.997).float() * 0.9
        return (night + stars).clamp(0, 1)
    raise ValueError(f"unknown background {name!r}")


def _blurred_noise(k: int, size: int, gen: torch.Generator, device: torch.device | str,
                   cells: int) -> torch.Tensor:
    coarse = _rand((k, 1, cells, cells), gen, device)
    return torch.nn.functional.interpolate(
        coarse, size=(size, size), mode="bicubic", align_corners=False
    )


# Signed-distance helpers in an object's local frame: u right, v down, unit = half-size.


def _box(u: torch.Tensor, v: torch.Tensor, cu: float, cv: float, hu: float, hv: float,
         r: float = 0.0) -> torch.Tensor:
    du = (u - cu).abs() - hu + r
    dv = (v - cv).abs() - hv + r
    outside = torch.sqrt(du.clamp(min=0) ** 2 + dv.clamp(min=0) ** 2)
    return outside + torch.minimum(torch.maximum(du, dv), torch.zeros_like(du)) - r


def _circle(u: torch.Tensor, v: torch.Tensor, cu: float, cv: float, r: float) -> torch.Tensor:
    return torch.sqrt((u - cu) ** 2 + (v - cv) ** 2) - r


def _triangle(u: torch.Tensor, v: torch.Tensor, apex: float, base: float,
              half_width: float) -> torch.Tensor:
    """Isosceles triangle, apex up at (0, apex), base at v = base, half-width at base."""
    height = base - apex
    slope = half_width / height
    norm = math.sqrt(1 + slope**2)
    side = (u.abs() - slope * (v - apex)) / norm
    return torch.maximum(torch.maximum(side, v - base), apex - v)


def _star(u: torch.Tensor, v: torch.Tensor, outer: float, inner: float) -> torch.Tensor:
    """Five-pointed star, a point up: distance to the edge of the point's half-sector."""
    half = math.pi / 5
    radius = torch.sqrt(u**2 + v**2)
    phase = torch.remainder(torch.atan2(u, -v) + half, 2 * half) - half
    px, py = radius * torch.sin(phase.abs()), radius * torch.cos(phase.abs())
    ax, ay = 0.0, outer  # the point
    bx, by = inner * math.sin(half), inner * math.cos(half)  # the notch beside it
    nx, ny = by - ay, ax - bx  # outward normal of the edge a -> b
    norm = math.hypot(nx, ny)
    return -((px - ax) * nx + (py - ay) * ny) / norm


def _heart(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    x, y = u * 1.15, -(v + 0.1) * 1.15
    f = (x**2 + y**2 - 1) ** 3 - x**2 * y**3
    return torch.sign(f) * f.abs() ** (1 / 3) * 0.5


def _union(*parts: torch.Tensor) -> torch.Tensor:
    out = parts[0]
    for part in parts[1:]:
        out = torch.minimum(out, part)
    return out


def _shape_parts(shape: str, u: torch.Tensor, v: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
    """The shape as (signed distance, brightness) layers, painted in order."""
    if shape == "circle":
        return [(_circle(u, v, 0, 0, 1.0), 1.0)]
    if shape == "square":
        return [(_box(u, v, 0, 0, 0.9, 0.9, 0.05), 1.0)]
    if shape == "triangle":
        return [(_triangle(u, v, -1.0, 0.8, 1.05), 1.0)]
    if shape == "star":
        return [(_star(u, v, 1.1, 0.45), 1.0)]
    if shape == "heart":
        return [(_heart(u, v), 1.0)]
    if shape == "ring":
        d = _circle(u, v, 0, 0, 0.8)
        return [(d.abs() - 0.22, 1.0)]
    if shape == "stripe":
        return [(_box(u, v, 0, 0, 1.7, 0.32), 1.0)]
    if shape == "bottle":
        body = _box(u, v, 0, 0.3, 0.38, 0.65, 0.12)
        neck = _box(u, v, 0, -0.5, 0.14, 0.3)
        return [(_union(body, neck), 1.0), (_box(u, v, 0, -0.85, 0.17, 0.09), 0.55),
                (_box(u, v, 0, 0.3, 0.39, 0.18), 1.25)]
    if shape == "table":
        top = _box(u, v, 0, -0.25, 1.0, 0.1, 0.03)
        legs = _union(_box(u, v, -0.75, 0.35, 0.07, 0.55), _box(u, v, 0.75, 0.35, 0.07, 0.55))
        return [(_union(top, legs), 1.0)]
    if shape == "lighthouse":
        taper = 0.2 + 0.14 * (v + 0.45) / 1.45
        tower = torch.maximum(u.abs() - taper, torch.maximum(-0.45 - v, v - 1.0))
        lantern = _box(u, v, 0, -0.6, 0.19, 0.15)
        roof = _triangle(u, v, -1.05, -0.74, 0.3)
        bands = torch.maximum(tower, (torch.remainder(v + 0.45, 0.5) - 0.25).abs() - 0.09)
        return [(_union(tower, roof), 1.0), (lantern, 1.6), (bands, 0.35)]
    if shape == "jacket":
        torso = _box(u, v, 0, 0.15, 0.5, 0.75, 0.06)
        sleeves = _union(_box(u, v, -0.68, 0.05, 0.17, 0.62, 0.05),
                         _box(u, v, 0.68, 0.05, 0.17, 0.62, 0.05))
        neck = _triangle(u, v, -0.7, 0.05, 0.22) * -1  # cut the V from the torso
        return [(_union(torch.maximum(torso, neck), sleeves), 1.0),
                (torch.maximum(_box(u, v, 0, 0.45, 0.02, 0.45), -neck), 0.6)]
    if shape == "tree":
        return [(_box(u, v, 0, 0.6, 0.12, 0.42), 0.45), (_circle(u, v, 0, -0.2, 0.7), 1.0)]
    if shape == "house":
        body = _box(u, v, 0, 0.4, 0.62, 0.55)
        roof = _triangle(u, v, -1.0, -0.15, 0.85)
        return [(body, 1.0), (roof, 0.6), (_box(u, v, 0, 0.65, 0.14, 0.3), 0.4)]
    if shape == "boat":
        hull = torch.maximum(u.abs() - (0.95 - (v - 0.35) * 0.7), torch.maximum(0.35 - v, v - 0.8))
        sail = torch.maximum(_triangle(u + 0.05, v, -1.0, 0.25, 0.65), -(u + 0.05))
        mast = _box(u, v, -0.02, -0.35, 0.03, 0.7)
        return [(hull, 1.0), (mast, 0.4), (sail, 1.0)]
    raise ValueError(f"unknown shape {shape!r}")


def _paint(images: torch.Tensor, shape: str, things: list[Thing], colours: torch.Tensor,
           xs: torch.Tensor, ys: torch.Tensor, size: int) -> torch.Tensor:
    """Paint one `shape` per image of `images` (k, 3, H, W) at each thing's place."""
    device = images.device
    cx = torch.tensor([t.cx for t in things], device=device).view(-1, 1, 1)
    cy = torch.tensor([t.cy for t in things], device=device).view(-1, 1, 1)
    half = torch.tensor([t.size for t in things], device=device).view(-1, 1, 1)
    u, v = (xs - cx) / half, (ys - cy) / half
    edge = 1.0 / (size * half)  # one pixel in local units
    for distance, brightness in _shape_parts(shape, u, v):
        alpha = (0.5 - distance / edge).clamp(0, 1).unsqueeze(1)
        paint = _shade(colours, brightness).view(-1, 3, 1, 1)
        images = images * (1 - alpha) + paint * alpha
    return images


def _shade(colour: torch.Tensor, brightness: float) -> torch.Tensor:
    if brightness <= 1.0:
        return colour * brightness
    # Lighter: towards white (labels, a lantern's light).
    return colour + (1 - colour) * min(brightness - 1.0, 1.0)
