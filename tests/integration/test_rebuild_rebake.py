"""Re-bake with overrides on the built-in tiny model: the unchanged prefix is reused
byte-for-byte (no step of it runs again), the rest is re-made as a new branch, and no
approval carries over. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from commands.asset_state import load_asset
from commands.jobs import load_job
from commands.rebuild import request_rebake
from commands.reviews import record_decision
from commands.users import Principal
from events.errors import DomainError
from events.store import Metadata
from imaging.blobs import BlobStore
from tests.integration.jobs_support import versions_of
from tests.integration.rebuild_support import centre_mask, make_chain
from workers import rebuild as rebuild_worker
from workers.job_runner import COMPLETED, run_job
from workers.rebuild import rebuild_report


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("rebake-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(path))
        patch.delenv("LINEAGE_TORCH_THREADS", raising=False)
        yield path


@pytest.fixture
def blobs(tmp_path: Path, data_dir: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def step_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every step the re-bake worker runs (a spy around the real engine)."""
    calls: list[str] = []
    real = rebuild_worker.run_step

    def spy(recipe, **kwargs):  # noqa: ANN001, ANN202
        calls.append(recipe.get("derived_from") or "?")
        return real(recipe, **kwargs)

    monkeypatch.setattr(rebuild_worker, "run_step", spy)
    return calls


def who(user_id: str) -> Principal:
    return Principal(user_id=user_id, name="Ada", is_admin=False, token_id="t")


def pixels(blobs: BlobStore, key: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blobs.get(key))).convert("RGB"))


def test_rebake_with_a_navy_jacket_reuses_the_prefix_and_remakes_the_rest(
        store, blobs: BlobStore, step_calls: list[str]) -> None:
    chain = make_chain(store, blobs)
    generate, inpaint, outpaint, upscale, adjust = chain.versions
    meta = Metadata(actor_id=chain.user_id)
    record_decision(store, who(chain.user_id), meta, adjust.version_id, decision="approved")
    body = request_rebake(store, blobs, who(chain.user_id), meta, adjust.version_id,
                          {inpaint.version_id: {"prompt": "a model in a navy jacket"}})

    assert run_job(chain.context, body["job_id"], worker="test") == COMPLETED

    state, _, _ = load_job(store, body["job_id"])
    report = state.report
    # Only the steps from the overridden one on ran again; the generate step did not.
    assert step_calls == [inpaint.version_id, outpaint.version_id, upscale.version_id,
                          adjust.version_id]
    assert report["reused"] == [{"version_id": generate.version_id, "operation": "generate",
                                 "content_hash": generate.content_hash}]
    assert [r["derived_from"] for r in report["recomputed"]] == [
        inpaint.version_id, outpaint.version_id, upscale.version_id, adjust.version_id]
    assert report["recomputed"][0]["overridden"] == ["prompt"]

    new = {v.version_id: v for v in versions_of(store, chain.asset_id)
           if v.version_id in state.version_ids}
    branch = [new[r["version_id"]] for r in report["recomputed"]]
    assert [v.parent_ids for v in branch] == [[generate.version_id]] + [
        [v.version_id] for v in branch[:-1]]
    assert [v.derived_from for v in branch] == [
        inpaint.version_id, outpaint.version_id, upscale.version_id, adjust.version_id]
    assert branch[0].recipe["prompt"] == "a model in a navy jacket"
    assert branch[0].recipe["derived_from"] == inpaint.version_id
    assert branch[1].recipe["prompt"] == outpaint.recipe["prompt"]  # only the override
    assert branch[0].recipe["seed"] == inpaint.recipe["seed"]
    # Same framing, a different jacket: the sizes match, the masked pixels changed, and
    # the unmasked pixels of the inpaint are still the reused generation's.
    assert [(v.width, v.height) for v in branch] == [
        (v.width, v.height) for v in chain.versions[1:]]
    assert all(v.content_hash != o.content_hash for v, o in zip(branch, chain.versions[1:],
                                                                strict=True))
    old, navy, source = (pixels(blobs, inpaint.content_hash),
                         pixels(blobs, branch[0].content_hash),
                         pixels(blobs, generate.content_hash))
    inside = np.zeros(old.shape[:2], dtype=bool)
    inside[16:48, 16:48] = True
    assert np.array_equal(navy[~inside], source[~inside])
    assert not np.array_equal(navy[inside], old[inside])
    # The approval stays with the version it was given to.
    asset, _ = load_asset(store, chain.asset_id)
    approved = {d.event.version_id for d in asset.decisions.values()}
    assert approved == {adjust.version_id}
    assert report["new_head"] == branch[-1].version_id


def test_a_rebaked_branch_rebuilds_bit_exact(store, blobs: BlobStore) -> None:
    chain = make_chain(store, blobs, steps=3)
    mask = centre_mask()
    mask_b64 = base64.b64encode(mask).decode()
    body = request_rebake(store, blobs, who(chain.user_id), Metadata(actor_id=chain.user_id),
                          chain.ids[-1], {chain.ids[1]: {"seed": 99, "mask": mask_b64},
                                          chain.ids[2]: {"margins": {"left": 16}}})
    assert run_job(chain.context, body["job_id"], worker="test") == COMPLETED
    state, _, _ = load_job(store, body["job_id"])

    report = rebuild_report(store, blobs, state.report["new_head"])

    assert report["verdict"] == "bit_exact"
    assert report["chain"][0] == chain.ids[0]  # the reused root
    assert len(report["chain"]) == 3
    assert [v.width for v in versions_of(store, chain.asset_id)
            if v.version_id == state.report["new_head"]] == [80]


def test_a_rebake_outside_the_chain_is_refused_and_nothing_is_queued(
        store, blobs: BlobStore) -> None:
    chain = make_chain(store, blobs, steps=2)
    other = make_chain(store, blobs, steps=1)
    head = store.head()
    with pytest.raises(DomainError, match="not in the chain"):
        request_rebake(store, blobs, who(chain.user_id), Metadata(actor_id=chain.user_id),
                       chain.ids[-1], {other.ids[0]: {"prompt": "x"}})
    assert store.head() == head
