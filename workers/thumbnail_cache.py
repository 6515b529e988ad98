"""Thumbnails kept on disk by the content hash of their image.

A thumbnail of a large upload costs about half a second of CPU (decoding a 4096 x 4096
16-bit PNG, then resampling); versions are immutable and content-addressed, so the
thumbnail of a hash never changes and is made once: ``root/ab/<hash>-<name>`` (``name``
such as ``256.png`` or ``1024.webp``),
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
_NAME = re.compile(r"[0-9]{1,5}\.(png|webp)")


class ThumbnailCache:
    """Made-once thumbnails under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, content_hash: str, name: str, make: Callable[[], bytes]) -> bytes:
        """The thumbnail ``name`` (side and format, e.g. ``256.png``) of ``content_hash``:
        from disk, or ``make()``-d and kept. A cache that cannot be written (full disk)
        still answers."""
        path = self.path(content_hash, name)
        with contextlib.suppress(FileNotFoundError):
            return path.read_bytes()
        data = make()
        with contextlib.suppress(OSError):
            self._write(path, data)
        return data

    def path(self, content_hash: str, name: str) -> Path:
        if not _KEY.fullmatch(content_hash) or not _NAME.fullmatch(name):
            raise ValueError(f"not a content hash and thumbnail name: {content_hash[:80]!r}, "
                             f"{name[:20]!r}")
        return self.root / content_hash[:2] / f"{content_hash}-{name}"

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
