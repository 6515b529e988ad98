"""A worker loads its tiers' models before it says it is ready: `lineage worker
--ready-file` on RabbitMQ writes the file only after the loads, logs each with its
registry entry, `lineage worker-ready` answers from it, and the file goes at shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.cli import main
from commands.models import list_models
from workers import model_registry, pipelines
from workers.warm import tiers_of_queues, warm_up

ROOT = Path(__file__).resolve().parents[2]


def test_warm_up_loads_each_tier_and_names_the_registry_entries(context, monkeypatch) -> None:
    monkeypatch.setenv("LINEAGE_MODEL_DRAFT", "builtin:tiny-sdxl")
    monkeypatch.setenv("LINEAGE_MODEL_UPSCALE", "builtin:tiny-flux")
    for name in ("FINAL", "INPAINT"):
        monkeypatch.delenv(f"LINEAGE_MODEL_{name}", raising=False)
    try:
        loaded = warm_up(context.store, ["draft"])
        by_operation = {m["operation"]: m for m in loaded}
        assert by_operation["generate"]["name"] == "env-draft"
        assert by_operation["upscale"]["name"] == "env-upscale"
        assert by_operation["upscale"]["kind"] == "img2img"  # Flux upscales by resize+img2img
        # No inpaint model is set: the tier's registered model inpaints.
        assert by_operation["inpaint"]["name"] == "env-draft"
        assert list_models(context.store)["tiers"]["draft"] == "env-draft"
        cached = pipelines.get_pipeline("txt2img", "builtin:tiny-sdxl")
        assert cached[1]["weights_hash"] == by_operation["generate"]["weights_hash"]
    finally:
        pipelines.clear_cache()
        model_registry.forget()


def test_queues_map_to_the_tiers_a_worker_serves() -> None:
    assert tiers_of_queues(None, ("draft", "final")) == ["draft", "final"]
    assert tiers_of_queues(["lineage.final"], ("draft", "final")) == ["final"]
    assert tiers_of_queues(["draft"], ("draft", "final")) == ["draft"]


def test_a_worker_reports_ready_only_after_loading(rabbitmq_url, prefix, tmp_path) -> None:
    env = {**os.environ, "LINEAGE_DATA_DIR": str(tmp_path), "LINEAGE_BROKER_URL": rabbitmq_url,
           "LINEAGE_QUEUE_PREFIX": prefix, "LINEAGE_MODEL_DRAFT": "builtin:tiny-sd3",
           "LINEAGE_MODEL_DEFAULT": "builtin:tiny", "PYTHONUNBUFFERED": "1"}
    for name in ("LINEAGE_DATABASE_URL", "LINEAGE_MODEL_FINAL", "LINEAGE_MODEL_INPAINT",
                 "LINEAGE_MODEL_UPSCALE"):
        env.pop(name, None)
    ready_file = tmp_path / "ready.json"
    lineage = [sys.executable, "-m", "app.cli"]
    subprocess.run([*lineage, "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    check = subprocess.run([*lineage, "worker-ready", str(ready_file)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "still loading" in check.stderr
    log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115 - read back below
    worker = subprocess.Popen([*lineage, "worker", "--queues", "draft", "--ready-file",
                               str(ready_file)], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while not ready_file.exists() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready_file.exists(), (tmp_path / "worker.log").read_text()
        text = (tmp_path / "worker.log").read_text()
        # Every load happened before the file appeared.
        assert "warm: draft generate on builtin:tiny-sd3 (registry entry env-draft" in text
        assert "warm: draft inpaint on builtin:tiny-sd3 (registry entry env-draft" in text
        data = json.loads(ready_file.read_text())
        assert data["pid"] == worker.pid and data["tiers"] == ["draft"]
        check = subprocess.run([*lineage, "worker-ready", str(ready_file)], env=env, cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and "env-draft" in check.stdout, check.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        log.close()
    assert not ready_file.exists()


def test_the_cli_refuses_a_missing_readiness_file(tmp_path) -> None:
    assert main(["worker-ready", str(tmp_path / "none.json")]) == 1
