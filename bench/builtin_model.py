"""The trained built-in model (builtin:sketch): speed on this machine and prompt adherence.

Prints draft and final render times at 256 x 256 with the default steps (p50/p95, one
torch thread as workers run by default), a 2x upscale of a 512 px image (resize plus
img2img), an inpaint, and the pass rate over the held-out adherence prompts (colour and
place statistics; prompts whose colour-and-shape pair never appeared in training).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LINEAGE_DATA_DIR", tempfile.mkdtemp(prefix="lineage-bench-model-"))
os.environ["LINEAGE_MODEL_DEFAULT"] = "builtin:sketch"

from bench.stats import percentile  # noqa: E402
from workers.builtin import adherence  # noqa: E402
from workers.operations import run_step  # noqa: E402


def timed(recipe: dict, **inputs: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = run_step(recipe, **inputs)
    return time.perf_counter() - started, result.png


def percentiles(seconds: list[float]) -> str:
    return (f"p50 {percentile(seconds, 0.5):.2f} s, p95 {percentile(seconds, 0.95):.2f} s "
            f"(n={len(seconds)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--renders", type=int, default=10, help="draft renders to time")
    parser.add_argument("--prompts", type=int, default=120, help="adherence prompts (>= 100)")
    args = parser.parse_args()

    prompt = "a red circle in the centre on a blue background"
    timed({"operation": "generate", "prompt": prompt, "seed": 0})  # load the model
    drafts = [timed({"operation": "generate", "prompt": prompt, "seed": i})[0]
              for i in range(args.renders)]
    print(f"draft 256x256, default steps (20): {percentiles(drafts)}")
    finals = [timed({"operation": "generate", "tier": "final", "prompt": prompt, "seed": i})[0]
              for i in range(max(3, args.renders // 3))]
    print(f"final 256x256, default steps (30): {percentiles(finals)}")

    _, png512 = timed({"operation": "generate", "prompt": prompt, "seed": 1,
                       "width": 512, "height": 512})
    up_seconds, up_png = timed({"operation": "upscale", "prompt": prompt, "seed": 1,
                                "scale": 2}, input_png=png512)
    size = Image.open(io.BytesIO(up_png)).size
    print(f"upscale 2x of 512 px (lanczos + img2img, strength 0.3): {up_seconds:.2f} s "
          f"-> {size[0]}x{size[1]}")

    mask = Image.new("L", (256, 256), 0)
    mask.paste(255, (64, 64, 192, 192))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    _, base = timed({"operation": "generate", "prompt": "a blue background", "seed": 2})
    inpaint_seconds, _ = timed({"operation": "inpaint", "prompt": "a yellow star", "seed": 2},
                               input_png=base, mask_png=buffer.getvalue())
    print(f"inpaint 256x256 (default steps): {inpaint_seconds:.2f} s")

    cases = adherence.held_out_prompts(args.prompts)
    passed = objects = backgrounds = 0
    for i, case in enumerate(cases):
        _, png = timed({"operation": "generate", "prompt": case.prompt, "seed": i})
        verdict = adherence.judge(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), case)
        passed += verdict.passed
        objects += verdict.object_ok
        backgrounds += verdict.background_ok
    n = len(cases)
    print(f"adherence over {n} held-out prompts: {passed / n:.0%} pass "
          f"(object colour in place {objects / n:.0%}, background {backgrounds / n:.0%}); "
          "target > 90%")


if __name__ == "__main__":
    main()
