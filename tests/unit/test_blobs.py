"""The content-addressed blob store: round trip, dedupe, tampering, bad keys, full disk."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from events.errors import DomainError, NotFound, ServiceUnavailable
from imaging.blobs import BlobCorrupted, BlobStore


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_put_returns_sha256_and_get_returns_the_bytes(store: BlobStore) -> None:
    data = b"\x89PNG pretend pixels"
    key = store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert store.get(key) == data
    assert store.exists(key)
    assert store.path(key) == store.root / key[:2] / key[2:4] / key


def test_empty_blob_round_trips(store: BlobStore) -> None:
    assert store.get(store.put(b"")) == b""


def test_put_of_present_content_writes_nothing(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.put(b"same bytes")

    def no_writes(*args: object, **kwargs: object) -> None:
        raise AssertionError("a duplicate put must not write")

    monkeypatch.setattr("imaging.blobs.tempfile.mkstemp", no_writes)
    assert store.put(b"same bytes") == key
    assert all_files(store.root) == [store.path(key)]


def test_damaged_copy_of_wrong_size_is_replaced_on_put(store: BlobStore) -> None:
    key = store.put(b"the real content")
    store.path(key).write_bytes(b"short")
    assert store.put(b"the real content") == key
    assert store.get(key) == b"the real content"


def test_tampered_blob_is_reported_not_served(store: BlobStore) -> None:
    key = store.put(b"approved pixels")
    store.path(key).write_bytes(b"approved pixelz")
    with pytest.raises(BlobCorrupted) as caught:
        store.get(key)
    assert caught.value.status == 500
    assert key in caught.value.detail


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    key = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(key)
    with pytest.raises(NotFound):
        store.get(key)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "/" + "a" * 63,
        "a" * 62 + "/.",
        "",
    ],
)
def test_malformed_keys_are_refused_before_touching_the_disk(store: BlobStore, key: str) -> None:
    for call in (store.get, store.exists, store.path):
        with pytest.raises(DomainError, match="malformed blob key") as caught:
            call(key)
        assert type(caught.value) is DomainError


def test_full_disk_raises_service_unavailable_and_leaves_nothing(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("imaging.blobs.os.write", disk_full)
    with pytest.raises(ServiceUnavailable, match="No space left on device") as caught:
        store.put(b"x" * 1000)
    assert caught.value.status == 503
    assert caught.value.extra["errno"] == errno.ENOSPC
    assert all_files(store.root) == []


def test_fsync_failure_leaves_no_partial_blob(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("imaging.blobs.os.fsync", failing_fsync)
    with pytest.raises(ServiceUnavailable):
        store.put(b"never half-written")
    assert all_files(store.root) == []
    key = hashlib.sha256(b"never half-written").hexdigest()
    assert not store.exists(key)


def test_short_writes_are_completed(store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def one_byte_at_a_time(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data[:1]))

    monkeypatch.setattr("imaging.blobs.os.write", one_byte_at_a_time)
    key = store.put(b"written in pieces")
    assert store.get(key) == b"written in pieces"


def test_a_blob_is_owned_only_by_the_projects_that_stored_it(store: BlobStore) -> None:
    ours, theirs = "6f1c2d1e-0000-4000-8000-000000000001", "6f1c2d1e-0000-4000-8000-000000000002"
    key = store.put_for(theirs, b"their mask")

    assert store.owned_by(theirs, key)
    assert not store.owned_by(ours, key)
    assert not store.owned_by(ours, "ab" * 32) and not store.owned_by(ours, "not a hash")
    assert store.put_for(ours, b"their mask") == key  # the same bytes stored by us too
    assert store.owned_by(ours, key)
    with pytest.raises(ValueError):
        store.claim("../../etc", key)
