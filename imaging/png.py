"""Deterministic PNG encoding and defensive image decoding.

`encode_png` gives the same bytes for the same pixels and text on the same Pillow/zlib:
no time chunk, fixed compression, text chunks in sorted key order. `decode_image` is the
only way untrusted bytes become pixels: it checks the header size before any pixel is
decoded (decompression bombs) and insists the whole file decodes (truncation).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from events.errors import DomainError

COMPRESS_LEVEL = 6
DEFAULT_FORMATS = ("PNG", "JPEG", "WEBP")


class InvalidImage(DomainError):
    """The bytes are not a complete image in an accepted format."""

    status = 422
    title = "Invalid image"


class ImageTooLarge(DomainError):
    """The image's declared size exceeds the pixel limit."""

    status = 413
    title = "Image too large"


def encode_png(image: Image.Image, text: dict[str, str] | None = None) -> bytes:
    """Encode `image` as an RGB PNG with `text` as text chunks; return the bytes.

    Text keys must be 1-79 Latin-1 characters (a PNG rule); values that are not Latin-1
    go in iTXt (UTF-8) chunks, the rest in tEXt. Raises ValueError for a bad key.
    """
    info = PngImagePlugin.PngInfo()
    for key in sorted(text or {}):
        _check_key(key)
        value = str(text[key])
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            info.add_itxt(key, value, zip=False)
        else:
            info.add_text(key, value)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", pnginfo=info, compress_level=COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


def decode_image(
    data: bytes,
    *,
    max_pixels: int,
    mode: str = "RGB",
    formats: tuple[str, ...] = DEFAULT_FORMATS,
) -> Image.Image:
    """Decode untrusted image bytes into a fully loaded image in `mode`.

    Takes the bytes, the largest width*height accepted, the mode to convert to and the
    accepted formats. Raises ImageTooLarge (413) when the header declares more than
    `max_pixels` (checked before pixels are decoded) and InvalidImage (422) for empty,
    unrecognised, animated, truncated or corrupt data.
    """
    if not data:
        raise InvalidImage("the image is empty (0 bytes)")
    with warnings.catch_warnings():
        # Pillow warns above its own global limit; ours is checked explicitly below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = _open(data, formats, max_pixels)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise InvalidImage(f"the image declares an empty size {width}x{height}")
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"the image is {width}x{height} = {width * height} pixels; "
                f"the limit is {max_pixels}",
                width=width,
                height=height,
                max_pixels=max_pixels,
            )
        if getattr(image, "n_frames", 1) > 1:
            raise InvalidImage("animated images are not accepted; upload a single frame")
        try:
            # verify() checks chunk CRCs and that the stream reaches its end; it needs a
            # fresh image afterwards. load() then decodes every pixel, which catches a
            # truncated stream even where verify() is shallow (JPEG).
            image.verify()
            image = _open(data, formats, max_pixels)
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise InvalidImage(f"the {image.format} image is truncated or corrupt: {exc}") from exc
    return image if image.mode == mode else image.convert(mode)


def _open(data: bytes, formats: tuple[str, ...], max_pixels: int) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=list(formats))
    except Image.DecompressionBombError as exc:
        # Pillow refuses at open time above its own global limit (far above ours), before
        # we can read the size; its message carries the declared pixel count.
        raise ImageTooLarge(
            f"the image declares too many pixels ({exc}); the limit is {max_pixels}",
            max_pixels=max_pixels,
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(
            f"not a recognised image; accepted formats are {', '.join(formats)}"
        ) from exc


def _check_key(key: str) -> None:
    try:
        encoded = key.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"PNG text key {key!r} is not Latin-1") from None
    if not 1 <= len(encoded) <= 79:
        raise ValueError(f"PNG text key {key!r} must be 1-79 characters long")


THUMBNAIL_SIDE = 256


def thumbnail_png(data: bytes, *, max_pixels: int, side: int = THUMBNAIL_SIDE) -> bytes:
    """A deterministic PNG at most ``side`` pixels on its longer side (aspect kept; an
    image already that small is re-encoded as it is). Raises like :func:`decode_image`."""
    image = decode_image(data, max_pixels=max_pixels)
    if max(image.size) > side:
        scale = side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return encode_png(image)
