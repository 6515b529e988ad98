"""A full blob store: the job fails cleanly, no partial blob remains, and nothing in the
log points at a blob that is not there. Once space is freed the job completes once.

The blob store lives on a real size-capped tmpfs when this process may mount one (root,
as in CI), so the kernel itself answers ENOSPC; elsewhere an injected OSError(ENOSPC)
stands in for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from commands.jobs import load_job, retry_job
from events.assets import VersionCreated
from events.errors import ServiceUnavailable
from events.store import Metadata
from imaging.blobs import BlobStore
from tests.integration.jobs_support import new_project, request_job, tiny_recipe, versions_of
from workers.job_runner import JobContext, record_transient_failure, run_job


@contextlib.contextmanager
def full_disk(path: Path, monkeypatch):  # noqa: ANN001, ANN201
    """``path`` on a 16 KiB tmpfs filled to the brim (or writes failing with ENOSPC)."""
    path.mkdir(parents=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(path)],
        capture_output=True).returncode == 0
    try:
        if mounted:
            filler = path / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as handle:
                handle.write(b"\0" * 64 * 1024)
            yield filler
        else:
            real_write = os.write

            def no_space(fd: int, data) -> int:  # noqa: ANN001
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(os, "write", no_space)
            yield None
            monkeypatch.setattr(os, "write", real_write)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_job_with_a_full_blob_store_fails_cleanly_and_completes_after_space_is_freed(
        store, tmp_path, monkeypatch):
    user = str(uuid.uuid4())
    project, asset = new_project(store, user)
    job = request_job(store, project, asset, user, tiny_recipe(seed=7))
    blob_root = tmp_path / "blobs"

    with full_disk(blob_root, monkeypatch) as filler:
        context = JobContext(store, BlobStore(blob_root))
        with pytest.raises(ServiceUnavailable) as failure:
            run_job(context, job)
        assert "No space left" in failure.value.detail or "28" in failure.value.detail
        # No partial blob: only the filler (if any) is in the store.
        leftovers = [p for p in blob_root.rglob("*") if p.is_file() and p != filler]
        assert leftovers == []
        assert versions_of(store, asset) == []
        # When retries run out the job is recorded failed, with the reason.
        record_transient_failure(context, job, "service_unavailable",
                                 f"gave up: {failure.value.detail}")
        state = load_job(store, job)[0]
        assert state.status == "failed"

        if filler is not None:
            filler.unlink()  # the operator frees space
        else:
            monkeypatch.undo()
        retry_job(store, job, Metadata(actor_id=user))
        assert run_job(context, job) == "completed"

        [version] = versions_of(store, asset)
        assert BlobStore(blob_root).get(version.content_hash)  # exists and hash-verifies
    # Nothing in the log names a blob that is missing.
    for recorded in store.iter_all():
        if isinstance(recorded.event, VersionCreated):
            assert recorded.event.version_id == version.version_id

