"""A local HTTP server speaking the OpenAI-compatible images API, for hosted-model tests.

It runs in a thread on 127.0.0.1, records every request (path, headers, JSON body or
multipart fields) and answers from a script: each queued `Answer` is used once, in order;
when none is queued it answers a success carrying a small PNG, ``usage`` and an
``x-request-id``. Errors use the OpenAI error JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

USAGE = {"input_tokens": 50, "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
         "output_tokens": 272, "total_tokens": 322}


def stub_png(colour: tuple[int, int, int] = (200, 40, 30), size: int = 64) -> bytes:
    """A small PNG the stub hands out as the provider's image."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


def error_answer(status: int, message: str, kind: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind, "param": None,
                                     "code": code}}, headers or {})


@dataclasses.dataclass
class Seen:
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None
    fields: dict[str, str]
    files: dict[str, bytes]


class StubImagesServer:
    """Start with ``with StubImagesServer() as stub:``; ``stub.base_url`` ends in /v1."""

    def __init__(self, image: bytes | None = None) -> None:
        self.image = image or stub_png()
        self.queue: list[Answer] = []
        self.seen: list[Seen] = []
        self._count = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StubImagesServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def success(self) -> Answer:
        self._count += 1
        return Answer(200, {"created": 1764800000 + self._count,
                            "data": [{"b64_json": base64.b64encode(self.image).decode()}],
                            "usage": USAGE},
                      {"x-request-id": f"req_stub_{self._count}", "openai-version": "2020-10-01"})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                stub.seen.append(_parse(self.path, dict(self.headers.items()), raw))
                answer = stub.queue.pop(0) if stub.queue else stub.success()
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                payload = json.dumps(answer.body or {}).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _parse(path: str, headers: dict[str, str], raw: bytes) -> Seen:
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        return Seen(path, headers, json.loads(raw), {}, {})
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files[name] = data
        else:
            fields[name] = data.decode()
    return Seen(path, headers, None, fields, files)
