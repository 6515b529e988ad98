"""Deterministic PNG encoding and defensive decoding of untrusted image bytes."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from imaging.png import ImageTooLarge, InvalidImage, decode_image, encode_png


def gradient(width: int = 32, height: int = 24, mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 8 % 256, y * 10 % 256, (x + y) % 256) for y in range(height) for x in range(width)]
    )
    return image.convert(mode)


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) of every chunk, in file order."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        found.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return found


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


# --- encode_png ------------------------------------------------------------------------


def test_same_image_and_text_give_the_same_bytes() -> None:
    text = {"lineage:recipe": '{"seed":1}', "b": "2", "a": "1"}
    first = encode_png(gradient(), text)
    second = encode_png(gradient(), dict(reversed(list(text.items()))))
    assert first == second


def test_text_chunks_are_sorted_and_no_time_chunk_is_written() -> None:
    png = encode_png(gradient(), {"zeta": "last", "alpha": "first", "mid": "middle"})
    kinds = [kind for kind, _ in chunks(png)]
    assert b"tIME" not in kinds
    texts = [data.split(b"\0")[0] for kind, data in chunks(png) if kind == b"tEXt"]
    assert texts == [b"alpha", b"mid", b"zeta"]


def test_non_latin1_text_goes_in_itxt_and_round_trips() -> None:
    png = encode_png(gradient(), {"prompt": "a fox in 東京 🦊", "plain": "café"})
    kinds = {kind for kind, _ in chunks(png)}
    assert b"iTXt" in kinds and b"tEXt" in kinds
    reopened = Image.open(io.BytesIO(png))
    assert reopened.text == {"prompt": "a fox in 東京 🦊", "plain": "café"}


def test_output_is_rgb_whatever_the_input_mode() -> None:
    png = encode_png(gradient(mode="RGBA"), None)
    assert Image.open(io.BytesIO(png)).mode == "RGB"


def test_pixels_survive_encoding() -> None:
    image = gradient()
    assert list(Image.open(io.BytesIO(encode_png(image))).getdata()) == list(image.getdata())


@pytest.mark.parametrize("key", ["", "k" * 80, "ключ"])
def test_invalid_text_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="PNG text key"):
        encode_png(gradient(), {key: "value"})


# --- decode_image ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_decode_to_rgb(fmt: str) -> None:
    image = decode_image(encoded(gradient(), fmt), max_pixels=10_000)
    assert image.mode == "RGB" and image.size == (32, 24)


def test_mode_can_be_requested() -> None:
    assert decode_image(encoded(gradient(), "PNG"), max_pixels=10_000, mode="L").mode == "L"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, I am a text file", "not a recognised image"),
        (b"%PDF-1.7\n" + b"0" * 100, "not a recognised image"),
    ],
)
def test_non_images_are_invalid(data: bytes, message: str) -> None:
    with pytest.raises(InvalidImage, match=message) as caught:
        decode_image(data, max_pixels=10_000)
    assert caught.value.status == 422


def test_formats_outside_the_allowed_list_are_invalid() -> None:
    with pytest.raises(InvalidImage, match="accepted formats are PNG, JPEG, WEBP"):
        decode_image(encoded(gradient(), "GIF"), max_pixels=10_000)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_invalid(fmt: str) -> None:
    data = encoded(gradient(64, 64), fmt)
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        decode_image(data[: len(data) * 2 // 3], max_pixels=10_000)


def test_corrupted_png_data_is_invalid() -> None:
    data = bytearray(encoded(gradient(64, 64), "PNG"))
    data[len(data) // 2] ^= 0xFF  # inside IDAT: its CRC no longer matches
    with pytest.raises(InvalidImage):
        decode_image(bytes(data), max_pixels=10_000)


def test_size_over_the_limit_is_too_large() -> None:
    with pytest.raises(ImageTooLarge, match="32x24 = 768 pixels; the limit is 767") as caught:
        decode_image(encoded(gradient(), "PNG"), max_pixels=767)
    assert caught.value.status == 413


def test_decompression_bomb_is_refused_from_the_header_alone() -> None:
    # A 100000 x 100000 header with no pixel data at all: decoding would need 30 GB, and
    # a verifier that decoded first would fail on the missing data, not on the size.
    # (This size also trips Pillow's own open-time limit; the next test stays under it.)
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")
    with pytest.raises(ImageTooLarge, match="10000000000 pixels.*the limit is 16777216"):
        decode_image(bomb, max_pixels=4096 * 4096)


def test_header_size_is_checked_before_any_pixel_is_decoded() -> None:
    header = struct.pack(">IIBBBBB", 5_000, 5_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")
    with pytest.raises(ImageTooLarge, match="5000x5000 = 25000000 pixels; the limit is 1000000"):
        decode_image(bomb, max_pixels=1_000_000)


def test_animated_images_are_invalid() -> None:
    frames = [gradient(), gradient().rotate(180)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidImage, match="animated"):
        decode_image(buffer.getvalue(), max_pixels=10_000)
