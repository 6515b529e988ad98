"""Export a version as a PNG that carries its recipe and lineage.

The image gets two text chunks, added before IEND without re-encoding the pixels:

- ``parameters``: the recipe in AUTOMATIC1111's layout (prompt, ``Negative prompt:``,
  then ``Steps: …, Sampler: …, CFG scale: …, Seed: …, Size: …, Model hash: …``), which
  A1111, Forge, many viewers and Lineage's own importer read;
- ``lineage``: Lineage's JSON (UTF-8 iTXt): the version, its full recipe and a summary
  of the chain from the root.

Same version, same bytes: no time stamps, keys sorted. Existing ``parameters`` /
``lineage`` chunks (an uploaded A1111 image) are replaced, not duplicated; a JPEG or
WebP upload is re-encoded as PNG first. Optionally (``c2pa=True``) a signed C2PA
manifest is added; such files are not byte-stable.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from commands.asset_state import load_entity_asset
from commands.lineage_chain import is_source_step, load_chain
from commands.users import Principal
from events.assets import VersionCreated
from events.chain import canonical_json
from events.errors import DomainError
from events.store import EventStore
from imaging.png import decode_image, encode_png
from interchange.c2pa import credentials_from_env, manifest_definition, sign_png
from interchange.png_metadata import format_a1111_parameters
from rules.access import VIEWER

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARAMETERS_KEY, LINEAGE_KEY = "parameters", "lineage"
LINEAGE_FORMAT = "lineage-export/1"
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
EXPORT_FORMATS = ("png",)
SOFTWARE_VERSION = "0.1.0"


def export_png(store: EventStore, blobs, principal: Principal, version_id: str,  # noqa: ANN001
               *, max_pixels: int, c2pa: bool = False) -> bytes:
    """The version's image with ``parameters`` and ``lineage`` text chunks (viewer role),
    and with ``c2pa`` a signed C2PA manifest (see interchange/c2pa.py).

    Raises NotFound, BlobCorrupted when the stored image no longer matches its hash, and
    C2paUnavailable (501) when C2PA is asked for but not set up.
    """
    load_entity_asset(store, principal, version_id, "version", VIEWER)
    credentials = credentials_from_env() if c2pa else None
    chain = load_chain(store, version_id)
    version = chain[-1]
    data = blobs.get(version.content_hash)
    if not data.startswith(PNG_SIGNATURE):
        data = encode_png(decode_image(data, max_pixels=max_pixels))
    summary = lineage_summary(chain)
    data = with_text_chunks(data, {PARAMETERS_KEY: format_a1111_parameters(a1111_recipe(version)),
                                   LINEAGE_KEY: canonical_json(summary)})
    if credentials is not None:
        data = sign_png(data, manifest_definition(summary, SOFTWARE_VERSION), *credentials)
    return data


def a1111_recipe(version: VersionCreated) -> dict[str, Any]:
    """The recipe written as ``parameters``: the version's own, or for an import the
    other tool's recipe it carried. Size is the output size."""
    recipe = dict(version.recipe)
    if version.imported and isinstance(version.imported.get("recipe"), dict):
        recipe = {**version.imported["recipe"], "operation": "upload"}
    recipe["width"], recipe["height"] = version.width, version.height
    return recipe


def lineage_summary(chain: list[VersionCreated]) -> dict[str, Any]:
    """What the ``lineage`` chunk holds: the version, its recipe, and the chain."""
    version = chain[-1]
    return {
        "format": LINEAGE_FORMAT,
        "version_id": version.version_id,
        "asset_id": version.asset_id,
        "content_hash": version.content_hash,
        "operation": version.operation,
        "tier": version.tier,
        "width": version.width,
        "height": version.height,
        "recipe": version.recipe,
        "imported": version.imported,
        "derived_from": version.derived_from,
        "chain": [{"version_id": v.version_id, "operation": v.operation,
                   "content_hash": v.content_hash, "parent_ids": list(v.parent_ids),
                   "tier": v.tier, "author_id": v.author_id, "derived_from": v.derived_from,
                   "rebuildable": not is_source_step(v),
                   "prompt": v.recipe.get("prompt"), "seed": v.recipe.get("seed")}
                  for v in chain],
    }


def with_text_chunks(png: bytes, text: dict[str, str]) -> bytes:
    """``png`` with ``text`` as text chunks just before IEND, replacing any text chunk of
    the same keys. Latin-1 values go in tEXt, others in UTF-8 iTXt. Raises DomainError
    for bytes that are not a well-formed PNG."""
    chunks = list(_chunks(png))
    kept = [c for c in chunks if not (c[0] in _TEXT_TYPES and _keyword(c[1]) in text)]
    out = bytearray(PNG_SIGNATURE)
    for chunk_type, body in kept:
        if chunk_type == b"IEND":
            for key in sorted(text):
                out += _chunk(*_text_chunk(key, text[key]))
        out += _chunk(chunk_type, body)
    return bytes(out)


def _chunks(png: bytes):  # noqa: ANN202 - an iterator of (type, body)
    if not png.startswith(PNG_SIGNATURE):
        raise DomainError("the stored image is not a PNG")
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(png):
        length, chunk_type = struct.unpack_from(">I4s", png, position)
        body = png[position + 8: position + 8 + length]
        if len(body) != length:
            break
        yield chunk_type, body
        position += 12 + length
        if chunk_type == b"IEND":
            return
    raise DomainError("the stored PNG is truncated (no IEND)")


def _keyword(body: bytes) -> str:
    return body.split(b"\0", 1)[0].decode("latin-1")


def _text_chunk(key: str, value: str) -> tuple[bytes, bytes]:
    try:
        return b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")
    except UnicodeEncodeError:
        # iTXt: keyword, no compression (flag 0, method 0), empty language and
        # translated keyword, then UTF-8 text.
        return b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")


def _chunk(chunk_type: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", crc)
