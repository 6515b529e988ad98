"""WebP previews of an image (256 and 1024 px), for boards and strips.

A WebP at most ``side`` pixels on its longer side (aspect kept; a smaller image keeps its
size). Made once per content hash and kept by workers/thumbnail_cache.py. Pixels are the
blob's own: the encoding is lossy, but only previews use these, never the viewer.
"""

from __future__ import annotations

import io

from PIL import Image

from imaging.png import decode_image

SIDES = (256, 1024)
QUALITY = 85
MEDIA_TYPE = "image/webp"


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
