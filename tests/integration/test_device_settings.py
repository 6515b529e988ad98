"""Device, dtype and determinism come from settings, are recorded in the recipe's
environment, and a rebuild under other settings names the ones that differ."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.jobs_support import new_project, tiny_recipe
from tests.integration.rebuild_support import run_one
from workers import device, pipelines
from workers.rebuild import rebuild_report


@pytest.fixture
def settings_reset(monkeypatch):  # noqa: ANN201
    for name in ("LINEAGE_DEVICE", "LINEAGE_DTYPE", "LINEAGE_DETERMINISTIC"):
        monkeypatch.delenv(name, raising=False)
    pipelines.clear_cache()
    yield monkeypatch
    monkeypatch.undo()
    pipelines.clear_cache()
    torch_defaults()


def torch_defaults() -> None:
    import torch

    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.benchmark = False


def test_the_recipe_records_the_settings_and_a_rebuild_names_the_differences(
        context, settings_reset) -> None:
    user_id = str(uuid.uuid4())
    project_id, asset_id = new_project(context.store, user_id)
    version = run_one(context, project_id, asset_id, user_id,
                      tiny_recipe(model="builtin:tiny-flux"))
    environment = version.recipe["environment"]
    assert (environment["device"], environment["dtype"]) == ("cpu", "float32")
    assert environment["deterministic_algorithms"] is False  # CPU default: auto = off
    assert rebuild_report(context.store, context.blobs, version.version_id)["verdict"] == \
        "bit_exact"

    settings_reset.setenv("LINEAGE_DTYPE", "bfloat16")
    settings_reset.setenv("LINEAGE_DETERMINISTIC", "1")
    pipelines.clear_cache()
    report = rebuild_report(context.store, context.blobs, version.version_id)
    changed = {d["key"]: (d["recorded"], d["current"]) for d in report["environment_differences"]}
    assert changed["dtype"] == ("float32", "bfloat16")
    assert changed["deterministic_algorithms"] == (False, True)
    assert "dtype" in report["summary"] and "deterministic_algorithms" in report["summary"]
    assert report["verdict"] != "bit_exact"  # bfloat16 arithmetic paints other pixels
    assert report["steps"][0]["source"] == "rebuilt"


def test_bad_settings_are_named(settings_reset) -> None:
    with pytest.raises(ValueError, match="LINEAGE_DTYPE must be one of float32, float16, "
                                         "bfloat16, not 'half'"):
        device.read_settings({"LINEAGE_DTYPE": "half"})
    with pytest.raises(ValueError, match="LINEAGE_DEVICE must be auto, cpu, cuda or cuda:N"):
        device.read_settings({"LINEAGE_DEVICE": "tpu"})
    with pytest.raises(ValueError, match="LINEAGE_DETERMINISTIC must be auto, 1 or 0"):
        device.read_settings({"LINEAGE_DETERMINISTIC": "maybe"})
    chosen = device.read_settings({"LINEAGE_DETERMINISTIC": "1", "LINEAGE_DEVICE": "cpu"})
    assert chosen == device.DeviceSettings(device="cpu", dtype="float32", deterministic=True)
