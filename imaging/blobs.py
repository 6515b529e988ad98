"""Content-addressed blob store: bytes filed under the SHA-256 of their content.

Layout: ``root/ab/cd/abcd…`` (the first two byte pairs of the hex key fan out the
folders). A project's claims on blobs (the images and masks stored on its behalf) are empty
files ``root/projects/<project id>/ab/abcd…``: a client may name a blob by hash only when
its project holds a claim, so no project can use, or learn of, another project's bytes.

Writes are atomic and durable (temp file, fsync, rename, fsync folder), so a
crash leaves either the whole blob or nothing; reads re-hash, so tampering or disk
corruption is reported instead of served.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

from events.errors import DomainError, NotFound, ServiceUnavailable

_KEY = re.compile(r"[0-9a-f]{64}")
_PROJECT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class BlobCorrupted(DomainError):
    """A stored blob no longer hashes to its key (tampering or disk corruption)."""

    status = 500
    title = "Blob corrupted"


class BlobStore:
    """Content-addressed files under `root`; keys are lowercase hex SHA-256 digests."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store `data` unless already present; return its key.

        A present file of the wrong size (damaged) is replaced.

        Raises ServiceUnavailable when the write fails (disk full, permissions); no
        partial blob or temp file is left behind.
        """
        key = hashlib.sha256(data).hexdigest()
        target = self.path(key)
        if self._present(target, len(data)):
            return key
        temp_name: str | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                self._write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp_name, target)
            temp_name = None
            self._fsync_dir(target.parent)
        except OSError as exc:
            raise ServiceUnavailable(
                f"blob store could not write {len(data)} bytes under {self.root}: "
                f"{exc.strerror or exc}",
                errno=exc.errno,
            ) from exc
        finally:
            if temp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
        return key

    def put_for(self, project_id: str, data: bytes) -> str:
        """:meth:`put` ``data`` and claim it for ``project_id``; return its key."""
        key = self.put(data)
        self.claim(project_id, key)
        return key

    def claim(self, project_id: str, key: str) -> None:
        """Record that ``project_id`` holds the blob ``key`` (idempotent, durable)."""
        marker = self._claim_path(project_id, key)
        if marker.is_file():
            return
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644))
            self._fsync_dir(marker.parent)
        except OSError as exc:
            raise ServiceUnavailable(f"blob store could not record a claim under {self.root}: "
                                     f"{exc.strerror or exc}", errno=exc.errno) from exc

    def owned_by(self, project_id: str, key: str) -> bool:
        """Whether ``key`` is stored and claimed by ``project_id``. False (never an error)
        for a malformed key, so an unknown, a foreign and a garbled hash look alike."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            return False
        return self._claim_path(project_id, key).is_file() and self.exists(key)

    def _claim_path(self, project_id: str, key: str) -> Path:
        if not _PROJECT.fullmatch(project_id):
            raise ValueError(f"not a canonical project id: {project_id[:80]!r}")
        self.path(key)  # DomainError for a malformed key
        return self.root / "projects" / project_id / key[:2] / key

    def get(self, key: str) -> bytes:
        """Return the bytes stored under `key`.

        Raises DomainError for a malformed key, NotFound when absent, BlobCorrupted when
        the stored bytes no longer hash to the key, ServiceUnavailable when unreadable.
        """
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {key} not found", key=key) from None
        except OSError as exc:
            raise ServiceUnavailable(f"blob {key} could not be read: {exc}", key=key) from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != key:
            raise BlobCorrupted(f"blob {key} is corrupted: its bytes hash to {actual}", key=key)
        return data

    def exists(self, key: str) -> bool:
        """Return whether a blob is stored under `key` (DomainError for a malformed key)."""
        return self.path(key).is_file()

    def path(self, key: str) -> Path:
        """Return the file path for `key`; raise DomainError unless it is 64 lowercase hex."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise DomainError(
                f"malformed blob key {str(key)[:80]!r}: expected 64 lowercase hex characters"
            )
        return self.root / key[:2] / key[2:4] / key

    def _present(self, target: Path, size: int) -> bool:
        # A same-size file is trusted (get() re-hashes anyway); a wrong-size one is a
        # damaged copy, which this write replaces.
        try:
            return target.stat().st_size == size
        except OSError:
            return False

    def _write_all(self, fd: int, data: bytes) -> None:
        # os.write may write less than asked (signals, some filesystems): loop until done.
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def _fsync_dir(self, directory: Path) -> None:
        # Makes the rename itself durable: without it a crash can lose the directory entry.
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
