"""Thumbnails made once per content hash and kept on disk beside the blobs.

``<data dir>/thumbnails/<side>/ab/<hash>.webp``: a WebP at most ``side`` pixels on its
longer side (aspect kept; a smaller image keeps its size). Two versions with the same
bytes share one file; the file is written atomically (temp file and rename), so readers
never see half of one, and a lost file is made again. Pixels are the blob's own: the
encoding is lossy, but only previews (boards, strips) use these, never the viewer.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from workers.png import decode_image

SIDES = (256, 1024)
QUALITY = 85
MEDIA_TYPE = "image/webp"


class ThumbnailCache:
    """Thumbnails of blobs under ``root``, made on first request."""

    def __init__(self, root: Path, *, max_pixels: int) -> None:
        self.root = Path(root)
        self.max_pixels = max_pixels

    def path(self, content_hash: str, side: int) -> Path:
        return self.root / str(side) / content_hash[:2] / f"{content_hash}.webp"

    def get(self, content_hash: str, side: int, original: Callable[[], bytes]) -> bytes:
        """The thumbnail of the blob ``content_hash`` at ``side`` (one of SIDES); made
        from ``original()`` the first time. Raises ValueError for another side."""
        if side not in SIDES:
            raise ValueError(f"thumbnail side must be one of {SIDES}")
        target = self.path(content_hash, side)
        with contextlib.suppress(FileNotFoundError):
            return target.read_bytes()
        data = make_thumbnail(original(), side, max_pixels=self.max_pixels)
        self._write(target, data)
        return data

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
        except OSError:
            # A full or read-only disk only costs making it again next time.
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temp)


def make_thumbnail(data: bytes, side: int, *, max_pixels: int) -> bytes:
    """A WebP of the image at most ``side`` pixels on its longer side."""
    image = decode_image(data, max_pixels=max_pixels)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    if max(image.size) > side:
        scale = side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=QUALITY, method=4)
    return buffer.getvalue()
