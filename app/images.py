"""The bytes a version's image route answers with, by requested size.

``full``: the blob itself; ``thumbnail``: a PNG at most 256 px; ``256``/``1024``: WebP
previews. Thumbnails and previews are made once per content hash (the full image is not
even read again) and kept under ``<data dir>/thumbnails``.
"""

from __future__ import annotations

from app.services import Services
from commands.uploads import media_type
from imaging.png import THUMBNAIL_SIDE, thumbnail_png
from workers.thumbnails import MEDIA_TYPE, make_thumbnail


def image_bytes(lineage: Services, content_hash: str, size: str) -> tuple[bytes, str]:
    """(bytes, media type) of the image ``content_hash`` at ``size``."""
    limit = lineage.settings.max_image_pixels
    if size == "full":
        data = lineage.blobs.get(content_hash)
        return data, media_type(data)
    if size == "thumbnail":
        data = lineage.thumbnails.get(content_hash, f"{THUMBNAIL_SIDE}.png", lambda: (
            thumbnail_png(lineage.blobs.get(content_hash), max_pixels=limit)))
        return data, "image/png"
    side = int(size)
    data = lineage.thumbnails.get(content_hash, f"{side}.webp", lambda: make_thumbnail(
        lineage.blobs.get(content_hash), side, max_pixels=limit))
    return data, MEDIA_TYPE
