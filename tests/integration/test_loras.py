"""LoRA adapters by name and scale: tiny seeded adapters made offline for the tiny SDXL
and Flux built-ins, registered like any adapter file, applied in generations and edits,
recorded with their file hash and scale, re-applied by a rebuild, re-scaled by a re-bake,
and refused when their weights changed."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.cli import main
from app.config import Settings
from app.services import build_services
from commands.models import register_model
from commands.rebuild import apply_override
from events.store import EventStore, Metadata
from workers import model_registry, model_sync, models, pipelines
from workers.builtin.tiny_lora import make_tiny_lora
from workers.model_files import inspect_model
from workers.operations import run_step

SPECS = {"sdxl": "builtin:tiny-sdxl", "flux": "builtin:tiny-flux"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    folder = tmp_path_factory.mktemp("loras")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(folder))
        patch.delenv("LINEAGE_DATABASE_URL", raising=False)
        for name in ("DRAFT", "FINAL", "INPAINT", "UPSCALE"):
            patch.delenv(f"LINEAGE_MODEL_{name}", raising=False)
        assert main(["db", "upgrade"]) == 0
        services = build_services(Settings.from_env())
        for family in SPECS:
            for scope in ("ink", "neon"):
                path = make_tiny_lora(models.build_pipeline(family),
                                      folder / f"{family}-{scope}", scope)
                add(services.store, f"{family}-{scope}", path)
        yield services.store
        services.close()
    pipelines.clear_cache()
    model_registry.forget()


def add(store: EventStore, name: str, path: Path) -> None:
    register_model(store, Metadata(actor_id="test"), inspect_model(str(path), Path(".")), name)
    model_sync.refresh(store)


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def generate(family: str, *adapters: tuple[str, float]) -> dict:
    recipe = {"operation": "generate", "model": SPECS[family], "prompt": "a harbour",
              "seed": 11, "steps": 2, "width": 64, "height": 64}
    if adapters:
        recipe["loras"] = [{"name": name, "scale": scale} for name, scale in adapters]
    result = run_step(recipe)
    return {"png": result.png, "recipe": result.recipe}


@pytest.mark.parametrize("family", sorted(SPECS))
def test_an_adapter_changes_the_picture_and_is_recorded_and_rebuilt(
        store: EventStore, family: str) -> None:
    plain = generate(family)
    styled = generate(family, (f"{family}-ink", 0.8))
    assert styled["png"] != plain["png"]
    (recorded,) = styled["recipe"]["loras"]
    file = Path(model_registry.adapter(f"{family}-ink").path)
    assert recorded == {"name": f"{family}-ink", "scale": 0.8,
                        "weights_hash": hashlib.sha256(file.read_bytes()).hexdigest()}
    assert run_step(styled["recipe"]).png == styled["png"]  # a rebuild re-applies it
    assert generate(family)["png"] == plain["png"]  # a loaded adapter leaks into no run
    both = generate(family, (f"{family}-ink", 0.8), (f"{family}-neon", 0.5))
    assert both["png"] not in (plain["png"], styled["png"])
    assert run_step(both["recipe"]).png == both["png"]


def test_a_rebake_may_change_a_scale_on_the_recorded_weights(store: EventStore) -> None:
    styled = generate("sdxl", ("sdxl-ink", 1.0))
    rebaked = apply_override(styled["recipe"], {"loras": [{"name": "sdxl-ink", "scale": 0.3}]},
                             derived_from="v1")
    assert rebaked["loras"] == [{"name": "sdxl-ink", "scale": 0.3, "weights_hash":
                                 styled["recipe"]["loras"][0]["weights_hash"]}]
    result = run_step(rebaked)
    assert pixels(result.png) != pixels(styled["png"])
    assert pixels(result.png) == pixels(generate("sdxl", ("sdxl-ink", 0.3))["png"])


def test_an_edit_applies_an_adapter(store: EventStore) -> None:
    source = generate("flux")["png"]
    recipe = {"operation": "img2img", "model": SPECS["flux"], "prompt": "night", "seed": 2,
              "steps": 4, "strength": 0.5, "loras": [{"name": "flux-neon", "scale": 1.0}]}
    edited = run_step(recipe, input_png=source)
    plain = run_step({**recipe, "loras": []}, input_png=source)
    assert edited.png != plain.png
    assert run_step(edited.recipe, input_png=source).png == edited.png


def test_changed_or_unknown_adapters_are_refused(store: EventStore, tmp_path: Path) -> None:
    recorded = generate("sdxl", ("sdxl-neon", 1.0))["recipe"]
    changed = make_tiny_lora(models.build_pipeline("sdxl"), tmp_path / "neon2", "neon-v2")
    add(store, "sdxl-neon", changed)
    with pytest.raises(models.ModelUnavailable) as refused:
        run_step(recorded)
    message = refused.value.detail
    assert "registry entry 'sdxl-neon'" in message
    assert recorded["loras"][0]["weights_hash"] in message
    with pytest.raises(models.ModelUnavailable, match="LoRA 'sepia' is not available"):
        generate("sdxl", ("sepia", 1.0))
