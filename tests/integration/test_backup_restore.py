"""`lineage backup` / `lineage restore` round-trip the embedded database and blobs."""

from __future__ import annotations

import hashlib
import threading

import pytest

from app.backup import backup, restore
from events.db import make_engine
from events.migrate import upgrade
from events.store import ANY, EventStore, Metadata
from tests.integration.test_event_store import NoteAdded


def _blob(blob_dir, data: bytes) -> str:
    key = hashlib.sha256(data).hexdigest()
    path = blob_dir / key[:2] / key[2:4] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def test_backup_while_writing_then_restore_gives_a_verified_identical_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'live' / 'lineage.db'}"
    blob_dir = tmp_path / "live" / "blobs"
    engine = make_engine(url)
    upgrade(engine)
    store = EventStore(engine)
    keys = [_blob(blob_dir, f"image {i}".encode()) for i in range(5)]
    for i in range(50):
        store.append("asset-1", ANY, [NoteAdded(text=f"v{i}")], Metadata(actor_id="ann"),
                     stream_type="test")
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            store.append("asset-2", ANY, [NoteAdded(text="during")], stream_type="test")

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        report = backup(url, blob_dir, tmp_path / "backup")
    finally:
        stop.set()
        writer.join()
    assert report.events >= 50
    assert report.blobs == 5

    restored_url = f"sqlite:///{tmp_path / 'restored' / 'lineage.db'}"
    restored_blobs = tmp_path / "restored" / "blobs"
    assert restore(tmp_path / "backup", restored_url, restored_blobs) == report.events

    restored = EventStore(make_engine(restored_url))
    original = store.read_all(limit=report.events)
    assert [(r.position, r.hash) for r in restored.read_all(limit=10_000)] == [
        (r.position, r.hash) for r in original]
    for key in keys:
        assert (restored_blobs / key[:2] / key[2:4] / key).read_bytes() == (
            blob_dir / key[:2] / key[2:4] / key).read_bytes()
    engine.dispose()


def test_restore_refuses_to_overwrite_without_force_and_backup_needs_an_empty_dir(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    upgrade(engine)
    backup(url, tmp_path / "blobs", tmp_path / "b1")

    with pytest.raises(FileExistsError):
        restore(tmp_path / "b1", url, tmp_path / "blobs")
    with pytest.raises(FileExistsError):
        backup(url, tmp_path / "blobs", tmp_path / "b1")
    assert restore(tmp_path / "b1", url, tmp_path / "blobs", force=True) == 0
    engine.dispose()


def test_backup_of_postgres_url_is_refused_with_a_pointer_to_pg_dump(tmp_path):
    with pytest.raises(ValueError, match="pg_dump"):
        backup("postgresql://x@127.0.0.1/test", tmp_path, tmp_path / "b")
