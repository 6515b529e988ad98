"""A hosted provider speaking the OpenAI-compatible images API.

``POST {base}/images/generations`` (JSON) makes an image from a prompt;
``POST {base}/images/edits`` (multipart/form-data: ``image``, optional ``mask`` whose
transparent pixels mark what to repaint, and the text fields) edits one. Answers carry
``created``, ``data[].b64_json`` (and maybe ``revised_prompt``) and, for token-billed
models, ``usage``. Errors carry ``{"error": {"message", "type", "code", "param"}}``.

429 and 5xx answers are retried with backoff (``Retry-After`` is honoured, capped at a
minute) up to the configured number of attempts; other 4xx answers and timeouts are not
retried (a timed-out request may still be billed; repeating it could bill twice).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from workers.hosted.provider import (
    MAX_WAIT_SECONDS,
    HostedRateLimited,
    HostedRejected,
    HostedRequest,
    HostedResult,
    HostedSettings,
    HostedTimeout,
    HostedUnavailable,
    redact,
)

MAX_RESPONSE_BYTES = 256 << 20
_RESPONSE_ID_HEADERS = ("x-request-id", "openai-processing-ms", "openai-organization")
_VERSION_HEADERS = ("openai-model", "x-model-version", "openai-version")


class OpenAIImages:
    """The OpenAI-compatible images API (also spoken by many hosted and local servers)."""

    name = "openai"

    def __init__(self, settings: HostedSettings,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep

    def make_image(self, request: HostedRequest) -> HostedResult:
        """Make one image; raise a HostedError subclass naming the reason in words."""
        parameters: dict[str, Any] = {"model": request.model, "prompt": request.prompt, "n": 1}
        if request.size:
            parameters["size"] = request.size
        if not request.model.startswith("gpt-image"):
            # GPT image models always answer base64 and refuse the field; others
            # (DALL-E, most compatible servers) answer URLs unless asked.
            parameters["response_format"] = "b64_json"
        if request.operation == "generate":
            endpoint = "images/generations"
            body, content_type = json.dumps(parameters).encode(), "application/json"
        else:
            endpoint = "images/edits"
            files = {"image": request.image_png or b""}
            if request.mask_png is not None:
                files["mask"] = request.mask_png
            body, content_type = _multipart(parameters, files)
        answer, headers, attempts = self._post(endpoint, body, content_type)
        return _result(answer, headers, endpoint, parameters, attempts)

    # -- HTTP -------------------------------------------------------------------------------

    def _post(self, endpoint: str, body: bytes,
              content_type: str) -> tuple[dict[str, Any], dict[str, str], int]:
        url = f"{self.settings.base_url}/{endpoint}"
        where = f"{self.settings.public_base_url}/{endpoint}"
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, data=body, method="POST", headers={
                "Authorization": f"Bearer {self.settings.api_key}",
                "Content-Type": content_type, "Accept": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as r:
                    raw = r.read(MAX_RESPONSE_BYTES + 1)
                    headers = {k.lower(): v for k, v in r.headers.items()}
            except urllib.error.HTTPError as exc:
                status, said = exc.code, self._said(exc)
                retry_after = _retry_after(exc.headers.get("Retry-After"))
                if status == 429 or status >= 500:
                    if attempt < attempts:
                        self._sleep(self._wait(attempt, retry_after))
                        continue
                    if status == 429:
                        raise HostedRateLimited(
                            f"the hosted provider at {where} is rate limiting: it answered "
                            f"429 to all {attempts} attempts (last: {said})",
                            http_status=status, attempts=attempts) from None
                    raise HostedUnavailable(
                        f"the hosted provider at {where} failed with HTTP {status} on all "
                        f"{attempts} attempts (last: {said})",
                        http_status=status, attempts=attempts) from None
                raise HostedRejected(f"the hosted provider at {where} refused the request "
                                     f"with HTTP {status}: {said}",
                                     http_status=status, attempts=attempt) from None
            except TimeoutError as exc:
                raise self._timeout(where, exc) from None
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError):
                    raise self._timeout(where, exc) from None
                if attempt < attempts:
                    self._sleep(self._wait(attempt, None))
                    continue
                raise HostedUnavailable(
                    f"the hosted provider at {where} could not be reached on any of "
                    f"{attempts} attempts: {self._clean(str(exc.reason))}",
                    attempts=attempts) from None
            except OSError as exc:  # the connection dropped mid-answer
                if attempt < attempts:
                    self._sleep(self._wait(attempt, None))
                    continue
                raise HostedUnavailable(
                    f"the hosted provider at {where} dropped the connection on all "
                    f"{attempts} attempts ({type(exc).__name__})", attempts=attempts) from None
            if len(raw) > MAX_RESPONSE_BYTES:
                raise HostedRejected(f"the hosted provider at {where} answered more than "
                                     f"{MAX_RESPONSE_BYTES >> 20} MiB")
            try:
                answer = json.loads(raw)
            except ValueError:
                raise HostedRejected(f"the hosted provider at {where} answered something "
                                     "that is not JSON") from None
            if not isinstance(answer, dict):
                raise HostedRejected(f"the hosted provider at {where} answered JSON that is "
                                     "not an object")
            return answer, headers, attempt
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        wait = retry_after if retry_after is not None else (
            self.settings.backoff_seconds * 2 ** (attempt - 1))
        return min(wait, MAX_WAIT_SECONDS)

    def _timeout(self, where: str, exc: BaseException) -> HostedTimeout:
        return HostedTimeout(f"the hosted provider at {where} did not answer within "
                             f"{self.settings.timeout_seconds:g} s (LINEAGE_HOSTED_TIMEOUT_S); "
                             "not retried, since the request may still be billed")

    def _said(self, exc: urllib.error.HTTPError) -> str:
        """The provider's own error message (OpenAI error JSON), else the HTTP reason."""
        try:
            raw = exc.read(64 << 10)
        except OSError:
            raw = b""
        text = f"HTTP {exc.code} {exc.reason}"
        try:
            error = json.loads(raw).get("error")
        except (ValueError, AttributeError):
            error = None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            labels = [str(error[k]) for k in ("type", "code") if error.get(k)]
            text = error["message"] + (f" ({', '.join(labels)})" if labels else "")
        elif raw:
            text = f"{text}: {raw[:300].decode('utf-8', 'replace')}"
        return self._clean(text)

    def _clean(self, text: str) -> str:
        return redact(text, self.settings.api_key)[:1000]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in seconds (HTTP dates are taken as absent)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _multipart(fields: dict[str, Any], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = f"lineage-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + str(value).encode() + b"\r\n")
    for name, data in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{name}.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _result(answer: dict[str, Any], headers: dict[str, str], endpoint: str,
            parameters: dict[str, Any], attempts: int) -> HostedResult:
    data = answer.get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    encoded = first.get("b64_json")
    if not isinstance(encoded, str):
        shape = "a URL" if "url" in first else "no image"
        raise HostedRejected(f"the hosted provider answered {shape} instead of data[0].b64_json")
    try:
        image = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise HostedRejected("the hosted provider's data[0].b64_json is not valid base64") \
            from None
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else None
    response_ids = {"created": answer.get("created"),
                    **{k: headers[k] for k in _RESPONSE_ID_HEADERS if k in headers}}
    if isinstance(answer.get("id"), str):
        response_ids["id"] = answer["id"]
    version = next((headers[k] for k in _VERSION_HEADERS if k in headers), None)
    reported_model = answer.get("model") if isinstance(answer.get("model"), str) else None
    revised = first.get("revised_prompt")
    return HostedResult(image=image, endpoint=endpoint, request_parameters=dict(parameters),
                        reported_model=reported_model, reported_version=version,
                        response_ids=response_ids, usage=usage, attempts=attempts,
                        revised_prompt=revised if isinstance(revised, str) else None)
