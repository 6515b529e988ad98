"""Bodies sent with Transfer-Encoding: chunked (no Content-Length) count against
LINEAGE_MAX_UPLOAD_BYTES as declared ones do: over the limit is 413 problem+json, not a
truncated body answered 422 "not valid JSON". Sent through a real HTTP server, which is
what de-chunks them."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.e2e.conftest import E2E_LIMITS

LIMIT = E2E_LIMITS["max_upload_bytes"]


@pytest.fixture
def server(app) -> Iterator[int]:
    """The app behind Werkzeug's threaded HTTP server (as ``lineage serve`` runs it)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join(timeout=10)


def send_chunked(port: int, token: str, path: str, pieces: Iterator[bytes],
                 content_type: str = "application/json") -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=pieces, encode_chunked=True, headers={
            "Authorization": f"Bearer {token}", "Content-Type": content_type})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def json_name(length: int) -> Iterator[bytes]:
    """``{"name": "xxx…"}`` in 64 KiB chunks, about ``length`` bytes in all."""
    yield b'{"name": "'
    for start in range(0, length, 65536):
        yield b"x" * min(65536, length - start)
    yield b'"}'


def test_a_chunked_body_over_the_limit_is_413(api, server):
    token = api.admin.token
    head = api.head()

    status, headers, problem = send_chunked(server, token, "/api/projects",
                                            json_name(LIMIT + 1024 * 1024))

    assert status == 413, problem
    assert headers["Content-Type"] == "application/problem+json"
    assert str(LIMIT) in problem["detail"] and "LINEAGE_MAX_UPLOAD_BYTES" in problem["detail"]
    assert api.head() == head


def test_a_chunked_body_within_the_limit_is_read_whole(api, server):
    status, _, body = send_chunked(server, api.admin.token, "/api/projects",
                                   iter([b'{"name": ', b'"Chunked', b' spring"}']))

    assert status == 201, body
    assert body["name"] == "Chunked spring"


def test_a_chunked_upload_over_the_limit_is_413(api, server):
    asset = api.asset(api.project())
    boundary = "lineage-boundary"

    def multipart() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
               f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
        for _ in range(LIMIT // 65536 + 2):
            yield b"\x89" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    status, _, problem = send_chunked(server, api.admin.token, f"/api/assets/{asset}/uploads",
                                      multipart(), f"multipart/form-data; boundary={boundary}")

    assert status == 413, problem
