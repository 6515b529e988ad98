"""`lineage demo` end to end: the whole story through the HTTP API on the embedded
default (SQLite, built-in tiny model), checked against what it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from commands.asset_state import load_asset
from commands.signin import redeem_signin_link
from commands.users import get_user
from events.db import make_engine
from events.store import EventStore
from workers.job_runner import find_version


@pytest.fixture
def models_dir(tmp_path_factory: pytest.TempPathFactory,
               monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.getbasetemp() / "demo-models"
    path.mkdir(exist_ok=True)
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(path))
    monkeypatch.delenv("LINEAGE_TORCH_THREADS", raising=False)
    return path


def test_the_demo_tells_the_whole_story(tmp_path: Path, models_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "demo"

    status = main(["demo", "--data-dir", str(data_dir), "--base-url", "http://lineage.test"])

    out = capsys.readouterr().out
    assert status == 0, out[-3000:]
    for phrase in ("draft-first policy", "409 Policy violation", "12 drafts",
                   "comment on a region", "promotes draft 6", "inpaint", "outpaint",
                   "approves it for social", "pinned as", "Time travel answers",
                   "Who approved what", "bit exact in the same environment",
                   "Re-bake with one changed prompt", "hash chain intact",
                   "http://lineage.test/api/", "http://lineage.test/signin?code="):
        assert phrase in out, phrase
    store = EventStore(make_engine(f"sqlite:///{data_dir / 'lineage.db'}"))
    try:
        asset_id = out.split("asset ", 1)[1].split(";", 1)[0]
        asset, _ = load_asset(store, asset_id)
        head = out.split("new branch head ", 1)[1].split(" ", 1)[0]
        navy = find_version(store, head)
        assert navy.derived_from is not None and navy.width == 160
        chain_prompts = []
        version = navy
        while version.parent_ids:
            version = find_version(store, version.parent_ids[0])
            chain_prompts.append(version.recipe.get("prompt", ""))
        assert any("navy jacket" in p for p in chain_prompts)  # the re-made inpaint
        approved = {d.event.version_id for d in asset.decisions.values()
                    if d.event.decision == "approved"}
        assert head not in approved and len(approved) == 2
        assert len(asset.pins) == 1 and asset.count("draft") == 12
        code = out.split("/signin?code=", 1)[1].split()[0]
        session = redeem_signin_link(store, code)  # the studio opens signed in as Ana
        assert get_user(store, session.user_id).name == "Ana (art director)"
    finally:
        store.engine.dispose()


def test_the_demo_refuses_a_folder_that_already_holds_data(tmp_path: Path,
                                                           models_dir: Path) -> None:
    (tmp_path / "lineage.db").write_bytes(b"")
    assert main(["demo", "--data-dir", str(tmp_path)]) == 2
