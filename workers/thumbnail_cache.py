"""Thumbnails kept on disk by the content hash of their image.

A thumbnail of a large upload costs about half a second of CPU (decoding a 4096 x 4096
16-bit PNG, then resampling); versions are immutable and content-addressed, so the
thumbnail of a hash never changes and is made once: ``root/ab/<hash>-<side>.png``,
written atomically (temp file, rename), so concurrent first requests are harmless.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

_KEY = re.compile(r"[0-9a-f]{64}")


class ThumbnailCache:
    """Made-once thumbnails under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, content_hash: str, side: int, make: Callable[[], bytes]) -> bytes:
        """The thumbnail of ``content_hash`` at ``side`` px: from disk, or ``make()``-d and
        kept. A cache that cannot be written (full disk) still answers."""
        path = self.path(content_hash, side)
        with contextlib.suppress(FileNotFoundError):
            return path.read_bytes()
        data = make()
        with contextlib.suppress(OSError):
            self._write(path, data)
        return data

    def path(self, content_hash: str, side: int) -> Path:
        if not _KEY.fullmatch(content_hash):
            raise ValueError(f"not a content hash: {content_hash[:80]!r}")
        return self.root / content_hash[:2] / f"{content_hash}-{int(side)}.png"

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
