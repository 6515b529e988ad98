"""The studio's own CSS and ES modules, served by Lineage with immutable caching.

Every URL carries a digest of all the static files (``/static/<digest>/studio.css``):
a release that changes any file changes every URL, so browsers may keep each answer for
a year and relative ``import``s between modules stay within one release. A request for
another digest (an old page) is still answered, but only briefly cached.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"

blueprint = Blueprint("studio_static", __name__)


@functools.cache
def digest() -> str:
    """A short digest of every static file's name and bytes (computed once)."""
    sha = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            sha.update(path.relative_to(STATIC_DIR).as_posix().encode() + b"\0")
            sha.update(path.read_bytes())
    return sha.hexdigest()[:12]


def static_url(filename: str) -> str:
    return f"/static/{digest()}/{filename}"


def page_weight(*names: str) -> int:
    """Bytes of the named static files (bench/studio_pages.py reports a page's total)."""
    return sum((STATIC_DIR / name).stat().st_size for name in names)


@blueprint.get("/static/<release>/<path:filename>")
def static_file(release: str, filename: str) -> Response:
    """A static file; immutable for the current release's digest."""
    path = (STATIC_DIR / filename).resolve()
    if STATIC_DIR.resolve() not in path.parents or not path.is_file():
        abort(404)
    response = send_from_directory(STATIC_DIR, filename, max_age=0, conditional=True)
    response.headers["Cache-Control"] = IMMUTABLE if release == digest() else SHORT
    if filename.endswith(".js"):
        response.mimetype = "text/javascript"
    elif filename.endswith(".css"):
        response.mimetype = "text/css"
    else:
        response.mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return response
