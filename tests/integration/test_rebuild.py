"""Rebuild from recorded lineage on the built-in tiny model (64x64, 2 steps).

Every operation is rebuilt bit-exact on this machine; a tampered blob, a changed model
and a changed torch thread count are each reported as such; the jobs create no version.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from commands.jobs import load_job
from commands.projects import set_channel
from commands.rebuild import request_rebuild
from commands.reviews import record_decision
from commands.uploads import upload_version
from commands.users import Principal
from events.store import Metadata
from imaging.blobs import BlobStore
from imaging.png import encode_png
from tests.integration.jobs_support import tiny_recipe, versions_of
from tests.integration.rebuild_support import make_chain, run_one
from workers import models, pipelines
from workers.job_runner import COMPLETED, run_job
from workers.rebuild import rebuild_report

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One LINEAGE_DATA_DIR for the module, so the built-in models are built once."""
    path = tmp_path_factory.mktemp("rebuild-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(path))
        for name in ("DRAFT", "FINAL", "INPAINT", "UPSCALE", "TORCH_THREADS"):
            patch.delenv(f"LINEAGE_{name}" if name == "TORCH_THREADS"
                         else f"LINEAGE_MODEL_{name}", raising=False)
        yield path


@pytest.fixture
def blobs(tmp_path: Path, data_dir: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def principal(user_id: str) -> Principal:
    return Principal(user_id=user_id, name="Ada", is_admin=False, token_id="t")


def tamper(blobs: BlobStore, key: str) -> None:
    path = blobs.path(key)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_rebuild_job_of_a_five_step_chain_is_bit_exact_and_creates_no_version(
        store, blobs: BlobStore) -> None:
    chain = make_chain(store, blobs)
    before = len(versions_of(store, chain.asset_id))
    body = request_rebuild(store, principal(chain.user_id), Metadata(actor_id=chain.user_id),
                           chain.ids[-1])
    assert body["kind"] == "rebuild" and body["version_id"] == chain.ids[-1]

    assert run_job(chain.context, body["job_id"], worker="test") == COMPLETED

    state, _, _ = load_job(store, body["job_id"])
    report = state.report
    assert state.version_ids == () and len(versions_of(store, chain.asset_id)) == before
    assert report["verdict"] == "bit_exact" and report["complete"]
    assert [s["operation"] for s in report["steps"]] == [
        "generate", "inpaint", "outpaint", "upscale", "adjust"]
    assert all(s["verdict"] == "bit_exact" and s["source"] == "rebuilt" for s in report["steps"])
    assert [s["rebuilt_hash"] for s in report["steps"]] == [v.content_hash for v in chain.versions]
    assert report["environment_differences"] == [] and report["problems"] == []
    assert all(s["recipe_differences"] == [] for s in report["steps"])
    assert report["recorded_seconds"] == pytest.approx(sum(v.cost_seconds for v in chain.versions))


def test_an_uploaded_root_is_taken_from_the_blob_store_and_img2img_rebuilds(
        store, blobs: BlobStore) -> None:
    chain = make_chain(store, blobs, steps=1)
    upload = encode_png(Image.new("RGB", (64, 64), (200, 30, 40)))
    body, _, _ = upload_version(store, blobs, principal(chain.user_id),
                                Metadata(actor_id=chain.user_id), chain.asset_id, upload,
                                max_pixels=1 << 20)
    img2img = run_one(chain.context, chain.project_id, chain.asset_id, chain.user_id,
                      {"operation": "img2img", "prompt": "a red fox", "seed": 4, "steps": 2,
                       "strength": 0.5}, kind="edit", input_version_id=body["version_id"])

    report = rebuild_report(store, blobs, img2img.version_id)

    assert report["verdict"] == "bit_exact"
    assert [(s["operation"], s["source"]) for s in report["steps"]] == [
        ("upload", "blob_store"), ("img2img", "rebuilt")]

    tamper(blobs, body["content_hash"])
    report = rebuild_report(store, blobs, img2img.version_id)
    assert report["verdict"] == "stopped" and not report["complete"]
    assert report["stopped"]["reason"] == "source_corrupted"
    assert "uploaded image" in report["summary"] and "corrupted" in report["summary"]


def test_a_tampered_stored_image_is_reported_even_when_the_rebuild_matches(
        store, blobs: BlobStore) -> None:
    chain = make_chain(store, blobs, steps=3)
    tamper(blobs, chain.versions[2].content_hash)

    report = rebuild_report(store, blobs, chain.ids[-1])

    outpaint = report["steps"][2]
    assert outpaint["stored_blob"] == "corrupted"
    assert outpaint["verdict"] == "bit_exact"  # the rebuild still makes the recorded hash
    assert any("stored image" in p and "corrupted" in p for p in report["problems"])
    assert "1 problem(s)" in report["summary"]


def test_a_tampered_mask_stops_the_rebuild(store, blobs: BlobStore) -> None:
    chain = make_chain(store, blobs, steps=3)
    tamper(blobs, chain.mask_hash)

    report = rebuild_report(store, blobs, chain.ids[-1])

    assert report["verdict"] == "stopped"
    assert report["stopped"]["reason"] == "mask_corrupted"
    assert report["stopped"]["version_id"] == chain.ids[1]
    assert [s["verdict"] for s in report["steps"]] == ["bit_exact"]


def test_a_missing_model_stops_the_rebuild_and_says_so(
        store, blobs: BlobStore, data_dir: Path, tmp_path: Path) -> None:
    local = tmp_path / "studio-model"
    shutil.copytree(models.ensure_builtin(data_dir, "txt2img"), local)
    chain = make_chain(store, blobs, steps=1)
    version = run_one(chain.context, chain.project_id, chain.asset_id, chain.user_id,
                      tiny_recipe(seed=5, model=str(local)))
    shutil.rmtree(local)
    pipelines.clear_cache()  # as a worker started after the folder went away

    report = rebuild_report(store, blobs, version.version_id)

    assert report["verdict"] == "stopped" and report["steps"] == []
    stopped = report["stopped"]
    assert stopped["reason"] == "model_unavailable"
    assert stopped["model_id"] == str(local)
    assert stopped["expected_weights_hash"] == version.recipe["model_weights_hash"]
    assert "not available" in report["summary"]


def approve(store, user_id: str, version_id: str, channel: str | None = None,  # noqa: ANN001
            ) -> None:
    record_decision(store, principal(user_id), Metadata(actor_id=user_id), version_id,
                    decision="approved", channel=channel)


def test_nightly_check_reports_changed_weights_and_another_thread_count(
        store, blobs: BlobStore, data_dir: Path, tmp_path: Path, database_url: str) -> None:
    """Two approved versions, both recorded with one torch thread: one made with a
    studio model whose weights then change. `lineage rebuild --all` runs in a fresh
    process (a nightly job) with LINEAGE_TORCH_THREADS=2: the first version's report
    names the thread difference, the second stops on the changed weights."""
    local = tmp_path / "studio-model"
    shutil.copytree(models.ensure_builtin(data_dir, "txt2img"), local)
    chain = make_chain(store, blobs, steps=2)
    studio = run_one(chain.context, chain.project_id, chain.asset_id, chain.user_id,
                     tiny_recipe(seed=5, model=str(local)))
    # Two channels: an approval in one channel replaces the asset's earlier one there.
    set_channel(store, principal(chain.user_id), Metadata(actor_id=chain.user_id),
                chain.project_id, "print", 8, 8)
    approve(store, chain.user_id, chain.ids[-1])
    approve(store, chain.user_id, studio.version_id, "print")
    assert chain.versions[0].recipe["environment"]["torch_threads"] == 1
    weights = local / "unet" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(weights)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + torch.full_like(tensors[name], 1e-3)
    save_file(tensors, weights)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "models").symlink_to(data_dir / "models")
    (tmp_path / "var" / "blobs").symlink_to(blobs.root)
    env = {**os.environ, "LINEAGE_DATA_DIR": str(tmp_path / "var"),
           "LINEAGE_TORCH_THREADS": "2", "LINEAGE_DATABASE_URL": database_url,
           "PYTHONPATH": str(REPO)}

    completed = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; raise SystemExit(main())",
         "rebuild", "--all", "--project", chain.project_id, "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 1, completed.stderr[-2000:]  # one could not be rebuilt
    rows = {row["version_id"]: row["report"] for row in json.loads(completed.stdout)}
    assert set(rows) == {chain.ids[-1], studio.version_id}
    threads = {"key": "torch_threads", "recorded": 1, "current": 2}
    report = rows[chain.ids[-1]]
    assert threads in report["environment_differences"]
    assert all(threads in step["environment_differences"] for step in report["steps"])
    assert "torch_threads" in report["summary"]
    # Whatever the verdict, it is one the report backs with numbers.
    assert report["verdict"] in ("bit_exact", "pixel_equal", "within_tolerance", "diverged")
    assert all("rebuilt_hash" in step for step in report["steps"])
    stopped = rows[studio.version_id]["stopped"]
    assert stopped["reason"] == "model_unavailable"
    assert stopped["expected_weights_hash"] == studio.recipe["model_weights_hash"]
    assert stopped["actual_weights_hash"] not in (None, studio.recipe["model_weights_hash"])
    assert {"key": "model_weights_hash", "recorded": studio.recipe["model_weights_hash"],
            "current": stopped["actual_weights_hash"]} in \
        rows[studio.version_id]["environment_differences"]
