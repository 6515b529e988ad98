"""Each pipeline family on whatever device is here: generate, img2img, inpaint, a LoRA,
and a bit-exact rebuild of each, through the engine (workers.operations.run_step).

Families are the tiny seeded built-ins (builtin:tiny = SD 1.x shape, builtin:tiny-sdxl,
-sd3, -flux) at 512 x 512, and 1024 x 1024 for SDXL and Flux (--quick: 64 x 64, for a
CPU). For every dtype asked (default: float32 and bfloat16 on CUDA, float32 on a CPU)
it prints, per family, the seconds of the first generation (model load included), of a
warm generation, an img2img and an inpaint, and whether each re-run (a rebuild, in a
fresh pipeline cache) gave the same bytes.

Runs standalone: only torch, diffusers, transformers and peft need to be importable,
with this repository found from the script's own path (no database, broker or Flask):

    python3 bench/gpu_families.py            # the device here, full sizes
    python3 bench/gpu_families.py --quick    # small sizes and two steps (CPU)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LINEAGE_DATA_DIR", tempfile.mkdtemp(prefix="lineage-bench-gpu-"))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from commands.model_catalog import Registry, apply  # noqa: E402
from events.models import ModelRegistered  # noqa: E402
from workers import device, model_registry, models, pipelines  # noqa: E402
from workers.builtin.tiny_lora import make_tiny_lora  # noqa: E402
from workers.model_files import inspect_model  # noqa: E402
from workers.operations import run_step  # noqa: E402

FAMILIES = {  # name: (spec, full size)
    "sd": ("builtin:tiny", 512),
    "sdxl": ("builtin:tiny-sdxl", 1024),
    "sd3": ("builtin:tiny-sd3", 512),
    "flux": ("builtin:tiny-flux", 1024),
}
LORA_FAMILIES = ("sdxl", "flux")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 x 64, 2 steps (a CPU)")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default 8)")
    parser.add_argument("--dtypes", default=None,
                        help="comma-separated: float32,float16,bfloat16 (default: float32 "
                             "and bfloat16 on CUDA, float32 on a CPU)")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help=f"comma-separated subset of {', '.join(FAMILIES)}")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    dtypes = (args.dtypes or ("float32,bfloat16" if cuda else "float32")).split(",")
    steps = args.steps or (2 if args.quick else 8)
    torch.set_num_threads(int(os.environ.get("LINEAGE_TORCH_THREADS", "1")))
    os.environ.setdefault("LINEAGE_TORCH_THREADS", str(torch.get_num_threads()))
    print(describe_machine(cuda))
    print(f"steps {steps}; CPU generator noise; determinism: LINEAGE_DETERMINISTIC="
          f"{os.environ.get('LINEAGE_DETERMINISTIC', 'auto')}")
    adapters = make_adapters([f for f in args.families.split(",") if f in LORA_FAMILIES])
    failures = 0
    for dtype in dtypes:
        os.environ["LINEAGE_DTYPE"] = dtype
        pipelines.clear_cache()
        settings = device.current()
        print(f"\n{settings.device} {dtype} deterministic={settings.deterministic}")
        print(f"{'family':6} {'size':>9} {'load+gen s':>10} {'gen s':>7} {'img2img s':>9} "
              f"{'inpaint s':>9} {'lora s':>7}  rebuilds bit-exact")
        for family in args.families.split(","):
            spec, full = FAMILIES[family]
            side = 64 if args.quick else full
            try:
                failures += run_family(family, spec, side, steps, adapters.get(family))
            except Exception as exc:  # noqa: BLE001 - report and go on to the next family
                failures += 1
                print(f"{family:6} {side:>4}x{side:<4} failed: {type(exc).__name__}: {exc}")
    print(f"\n{'all rebuilds bit-exact' if not failures else f'{failures} failure(s)'}")
    return 1 if failures else 0


def describe_machine(cuda: bool) -> str:
    versions = ", ".join(f"{name} {__import__(name).__version__}"
                         for name in ("torch", "diffusers", "transformers", "peft"))
    where = (f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})" if cuda
             else f"CPU {platform.machine()} ({os.cpu_count()} cores)")
    return f"{where}; Python {platform.python_version()}; {versions}"


def make_adapters(families: list[str]) -> dict[str, str]:
    """A seeded tiny LoRA per family, registered in this process's registry view."""
    folder = Path(os.environ["LINEAGE_DATA_DIR"]) / "loras"
    registry = Registry()
    names = {}
    for family in families:
        path = make_tiny_lora(models.build_pipeline(family), folder / family, f"bench-{family}")
        inspected = inspect_model(str(path), Path("."))
        names[family] = f"{family}-bench"
        apply(registry, ModelRegistered(name=names[family], **{
            key: inspected[key] for key in ("kind", "spec", "path", "family", "pipeline_class",
                                            "components", "files", "weights_hash")}))
    model_registry.use(registry)
    return names


def run_family(family: str, spec: str, side: int, steps: int, adapter: str | None) -> int:
    """One family's row; returns the number of rebuilds that were not bit-exact."""
    base = {"model": spec, "prompt": "a lighthouse on a cliff at dusk", "seed": 42,
            "steps": steps, "guidance": 3.5 if family == "flux" else 5.0}
    load, generated = timed({"operation": "generate", "width": side, "height": side, **base})
    warm, again = timed(generated.recipe)
    mask = Image.new("L", (side, side), 0)
    mask.paste(255, (side // 4, side // 4, 3 * side // 4, 3 * side // 4))
    mask_png = png(mask)
    edit = {**base, "prompt": "the same lighthouse in a storm"}
    img2img_s, img2img = timed({"operation": "img2img", "strength": 0.6, **edit},
                               input_png=generated.png)
    inpaint_s, inpaint = timed({"operation": "inpaint", **edit}, input_png=generated.png,
                               mask_png=mask_png)
    results = [("generate", generated, {}), ("img2img", img2img, {"input_png": generated.png}),
               ("inpaint", inpaint, {"input_png": generated.png, "mask_png": mask_png})]
    lora_s = None
    if adapter is not None:
        lora_s, styled = timed({"operation": "generate", "width": side, "height": side,
                                "loras": [{"name": adapter, "scale": 0.8}], **base})
        results.append(("lora", styled, {}))
    exact = {"warm": digest(again) == digest(generated)}
    pipelines.clear_cache()  # a rebuild in a fresh pipeline cache: loads again
    for name, result, inputs in results:
        exact[name] = digest(run_step(result.recipe, **inputs)) == digest(result)
    lora_text = f"{lora_s:7.2f}" if lora_s is not None else f"{'-':>7}"
    marks = " ".join(f"{k}:{'yes' if v else 'NO'}" for k, v in exact.items())
    print(f"{family:6} {side:>4}x{side:<4} {load:10.2f} {warm:7.2f} {img2img_s:9.2f} "
          f"{inpaint_s:9.2f} {lora_text}  {marks}", flush=True)
    return sum(not v for v in exact.values())


def timed(recipe: dict, **inputs: bytes):  # noqa: ANN201
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = run_step(recipe, **inputs)
    return time.perf_counter() - started, result


def digest(result) -> str:  # noqa: ANN001
    return hashlib.sha256(result.png).hexdigest()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())
