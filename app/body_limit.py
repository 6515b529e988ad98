"""Streamed (chunked) request bodies count against the body limit as declared ones do.

A body sent with ``Transfer-Encoding: chunked`` has no Content-Length, and Werkzeug reads
such a body only up to the limit, silently dropping the rest: a 25 MiB JSON body became a
truncated document and a 422 "not valid JSON". This WSGI middleware reads a streamed body
first (spooled to disk past 1 MiB), at most one byte past the limit, and hands the app a
body with a Content-Length, so the app's length check answers 413 for it too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import ClosingIterator

TOO_LARGE_KEY = "lineage.streamed_body_too_large"
"""Set in the WSGI environ when a streamed body passed the limit (its length is then
declared as limit + 1; the rest of the body is never read)."""
_CHUNK = 64 * 1024
_IN_MEMORY = 1024 * 1024


class StreamedBodyLimit:
    """Wraps a WSGI app; ``limit`` is the largest body in bytes."""

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not _is_streamed(environ):
            return self.app(environ, start_response)
        body, size = self._read(environ["wsgi.input"])
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        if size > self.limit:
            environ[TOO_LARGE_KEY] = True
        return ClosingIterator(self.app(environ, start_response), body.close)

    def _read(self, stream: Any) -> tuple[Any, int]:  # noqa: ANN401 - a WSGI input stream
        # Closed once the response is sent (the ClosingIterator above), not here.
        body = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        size = 0
        while size <= self.limit:
            chunk = stream.read(min(_CHUNK, self.limit + 1 - size))
            if not chunk:
                break
            body.write(chunk)
            size += len(chunk)
        body.seek(0)
        return body, size


def _is_streamed(environ: dict[str, Any]) -> bool:
    """A body without Content-Length that the server has de-chunked for us."""
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return ("chunked" in encoding and not environ.get("CONTENT_LENGTH")
            and bool(environ.get("wsgi.input_terminated")))
