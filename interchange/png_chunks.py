"""Bounded reading of PNG text chunks (tEXt, zTXt, iTXt).

Written by hand rather than through Pillow because Pillow decodes the pixels' header
eagerly, applies its own (larger) text limits and raises on the damage we want to
survive: a truncated file or bad CRC should still yield the text read before it.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_VALUE_BYTES = 1 << 20  # per text value, after decompression
MAX_TOTAL_TEXT_BYTES = 8 << 20  # all text values together
MAX_TEXT_CHUNKS = 256
_MAX_CHUNK_LENGTH = 2**31 - 1  # the PNG spec's limit
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")


def read_text_chunks(png: bytes) -> tuple[dict[str, str], list[str]]:
    """Read every text chunk of a PNG, up to IEND (text may follow IDAT).

    Takes the file's bytes; returns (values by keyword, warnings). tEXt and zTXt are
    decoded as UTF-8 first because some writers break the spec, then as Latin-1; iTXt
    is UTF-8. A keyword seen twice keeps its first value. Values over 1 MiB, zlib
    streams that would inflate past 1 MiB, and text past 8 MiB in all are skipped.
    Damage (not a PNG, truncation, bad CRC, bad chunk type) stops the scan and keeps
    what was read before it. Never raises.
    """
    values, warnings, _ = read_text_chunks_detailed(png)
    return values, warnings


def read_text_chunks_detailed(png: bytes) -> tuple[dict[str, str], list[str], set[str]]:
    """`read_text_chunks`, plus the keywords of text chunks that were skipped as unusable
    (so a caller can tell "no metadata" from "metadata present but hostile")."""
    warnings: list[str] = []
    values: dict[str, str] = {}
    skipped: set[str] = set()
    if not isinstance(png, bytes | bytearray | memoryview):
        return values, [f"input is a {type(png).__name__}, not bytes"], skipped
    data = memoryview(png).cast("B")
    if bytes(data[:8]) != PNG_SIGNATURE:
        return values, ["not a PNG file (signature mismatch)"], skipped
    position, total_text, text_chunks = 8, 0, 0
    while True:
        if position + 8 > len(data):
            warnings.append(f"file ends at byte {len(data)} before IEND (truncated)")
            break
        length, chunk_type = struct.unpack_from(">I4s", data, position)
        if not chunk_type.isalpha() or not chunk_type.isascii():
            warnings.append(f"invalid chunk type at byte {position}; stopped reading")
            break
        name = chunk_type.decode("ascii")
        end = position + 12 + length
        if length > _MAX_CHUNK_LENGTH or end > len(data):
            warnings.append(f"{name} chunk at byte {position} runs past the end of the file "
                            "(truncated); stopped reading")
            break
        body = data[position + 8 : position + 8 + length]
        (stored_crc,) = struct.unpack_from(">I", data, position + 8 + length)
        if zlib.crc32(body, zlib.crc32(chunk_type)) != stored_crc:
            warnings.append(f"CRC mismatch in {name} chunk at byte {position}; stopped reading")
            break
        position = end
        if chunk_type == b"IEND":
            break
        if chunk_type not in _TEXT_TYPES:
            continue
        text_chunks += 1
        if text_chunks > MAX_TEXT_CHUNKS:
            warnings.append(f"more than {MAX_TEXT_CHUNKS} text chunks; the rest ignored")
            break
        decoded = _decode_text_chunk(name, body, warnings)
        if decoded is None:
            keyword = bytes(body[:80]).partition(b"\0")[0]
            if keyword:
                skipped.add(keyword.decode("latin-1"))
            continue
        key, value = decoded
        total_text += len(value)
        if total_text > MAX_TOTAL_TEXT_BYTES:
            warnings.append(f"text chunks exceed {MAX_TOTAL_TEXT_BYTES} bytes in all; "
                            f"{key!r} and later text ignored")
            skipped.add(key)
            break
        if key in values:
            warnings.append(f"duplicate text key {key!r} ({name}); first value kept")
            continue
        values[key] = value
    return values, warnings, skipped


def _decode_text_chunk(name: str, body: memoryview, warnings: list[str]
                       ) -> tuple[str, str] | None:
    """(keyword, text) of one text chunk, or None with a warning when unusable."""
    raw = bytes(body[:80])
    separator = raw.find(b"\0")
    if separator < 1:
        warnings.append(f"{name} chunk without a valid keyword; skipped")
        return None
    key = raw[:separator].decode("latin-1")
    rest = body[separator + 1 :]
    if name == "tEXt":
        if len(rest) > MAX_VALUE_BYTES:
            warnings.append(f"{name} {key!r}: {len(rest)} bytes exceeds {MAX_VALUE_BYTES}; skipped")
            return None
        return key, _decode_legacy(bytes(rest))
    if name == "zTXt":
        if len(rest) < 1 or rest[0] != 0:
            warnings.append(f"{name} {key!r}: unknown compression method; skipped")
            return None
        inflated = _inflate(rest[1:], f"{name} {key!r}", warnings)
        return None if inflated is None else (key, _decode_legacy(inflated))
    return _decode_itxt(key, rest, warnings)


def _decode_itxt(key: str, rest: memoryview, warnings: list[str]) -> tuple[str, str] | None:
    """iTXt: flag, method, language\\0, translated keyword\\0, UTF-8 text."""
    label = f"iTXt {key!r}"
    if len(rest) < 2:
        warnings.append(f"{label}: chunk too short; skipped")
        return None
    compressed, method = rest[0], rest[1]
    tail = bytes(rest[2:]) if len(rest) <= MAX_VALUE_BYTES + 4096 else None
    if tail is None and not compressed:
        warnings.append(f"{label}: {len(rest)} bytes exceeds {MAX_VALUE_BYTES}; skipped")
        return None
    if tail is None:  # compressed and huge: the headers are short, so look at a prefix only
        tail = bytes(rest[2 : 2 + 4096])
    language_end = tail.find(b"\0")
    translated_end = tail.find(b"\0", language_end + 1) if language_end >= 0 else -1
    if translated_end < 0:
        warnings.append(f"{label}: malformed header; skipped")
        return None
    text_start = 2 + translated_end + 1
    if compressed:
        if method != 0:
            warnings.append(f"{label}: unknown compression method; skipped")
            return None
        payload = _inflate(rest[text_start:], label, warnings)
        if payload is None:
            return None
    else:
        payload = tail[translated_end + 1 :]
        if len(payload) > MAX_VALUE_BYTES:
            warnings.append(f"{label}: {len(payload)} bytes exceeds {MAX_VALUE_BYTES}; skipped")
            return None
    try:
        return key, payload.decode("utf-8")
    except UnicodeDecodeError:
        warnings.append(f"{label}: invalid UTF-8; undecodable bytes replaced")
        return key, payload.decode("utf-8", "replace")


def _inflate(compressed: memoryview, label: str, warnings: list[str]) -> bytes | None:
    """zlib-inflate at most MAX_VALUE_BYTES; None (with a warning) for bombs and damage."""
    inflater = zlib.decompressobj()
    try:
        # max_length bounds the output, so a zip bomb costs at most ~1 MiB of memory
        output = inflater.decompress(compressed, MAX_VALUE_BYTES + 1)
    except zlib.error as exc:
        warnings.append(f"{label}: corrupt zlib data ({exc}); skipped")
        return None
    if len(output) > MAX_VALUE_BYTES or inflater.unconsumed_tail:
        warnings.append(f"{label}: inflates past {MAX_VALUE_BYTES} bytes; skipped")
        return None
    if not inflater.eof:
        warnings.append(f"{label}: zlib stream is truncated; skipped")
        return None
    return output


def _decode_legacy(raw: bytes) -> str:
    """tEXt/zTXt text: UTF-8 when it is valid (a common spec break), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
