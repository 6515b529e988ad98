"""Opaque, signed list cursors and the bounds of every integer a client may send.

A cursor is the server's paging state (small JSON) with an HMAC-SHA256 tag under a key
kept in the data directory (``<data dir>/cursor-key``, created on first use, mode 0600;
every process of one installation shares the data directory, so a cursor one API process
wrote pages on in another). A client cannot forge or edit one: anything but a cursor this
installation produced is refused (422), so no client-chosen number reaches a query through
a cursor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

MAX_POSITION = 2**63 - 1
"""The largest log position (and any other BIGINT) a client may send."""
MAX_STREAM_VERSION = 2**31 - 1
"""The largest stream version (an INTEGER column): the bound of If-Match."""
KEY_FILE = "cursor-key"
_TAG_BYTES = 16
_NOT_OURS = "is not a cursor this server produced (send next_cursor back unchanged)"


def load_or_create_key(data_dir: Path) -> bytes:
    """The installation's cursor key, created (atomically, 0600) when missing."""
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))
    try:
        os.link(temporary, path)  # fails if another process created it first: use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return bytes.fromhex(path.read_text().strip())


def sign(state: dict[str, Any], key: bytes) -> str:
    """``state`` as an opaque cursor: base64url JSON, a dot, its truncated HMAC tag."""
    body = _b64(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(_tag(body, key))}"


def verify(cursor: str, key: bytes) -> dict[str, Any]:
    """The state of a cursor :func:`sign` produced with ``key``; ValidationError (422,
    field ``cursor``) for anything else, including a valid cursor edited by hand."""
    body, _, tag = cursor.partition(".")
    try:
        given = _unb64(tag)
        state = json.loads(_unb64(body)) if hmac.compare_digest(given, _tag(body, key)) \
            else None
    except (binascii.Error, ValueError, UnicodeDecodeError):
        state = None
    if not isinstance(state, dict) or not all(_bounded(v) for v in state.values()):
        raise ValidationError({"cursor": [_NOT_OURS]})
    return state


def _bounded(value: Any) -> bool:  # noqa: ANN401
    """Cursor values are strings, booleans, None or integers within 0..MAX_POSITION."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, int) and 0 <= value <= MAX_POSITION


def _tag(body: str, key: bytes) -> bytes:
    return hmac.new(key, b"lineage-cursor:" + body.encode(), hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
