"""The hosted-provider interface, its settings and its errors.

A provider takes a `HostedRequest` (operation, model, prompt, size, input image and
mask bytes) and returns a `HostedResult` (the image bytes, the model and version as the
provider reported them, the response ids and the provider's usage), or raises one of the
`HostedError` subclasses, whose messages say in words what went wrong and never carry
the API key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from events.errors import DomainError

HOSTED_PREFIX = "hosted:"
NOT_RERENDERABLE = "hosted: not re-renderable; bytes verified by hash"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0


class HostedError(DomainError):
    """A hosted provider could not make the image; the message says why, in words."""

    status = 502
    title = "Hosted provider error"


class HostedRejected(HostedError):
    """The provider refused the request (HTTP 4xx other than 429): retrying will not help."""


class HostedUnavailable(HostedError):
    """The provider kept failing (HTTP 5xx, connection refused) through every attempt."""


class HostedRateLimited(HostedError):
    """The provider kept answering 429 through every attempt."""


class HostedTimeout(HostedError):
    """The provider did not answer within the configured time."""


@dataclass(frozen=True)
class HostedSpec:
    """A parsed ``hosted:<provider>:<model>`` spec."""

    provider: str
    model: str

    @property
    def spec(self) -> str:
        return f"{HOSTED_PREFIX}{self.provider}:{self.model}"


@dataclass(frozen=True)
class HostedSettings:
    """Where and how to reach the provider. ``api_key`` is excluded from repr."""

    base_url: str
    api_key: str = field(repr=False)
    timeout_seconds: float
    max_attempts: int
    backoff_seconds: float

    @property
    def public_base_url(self) -> str:
        """The base URL without user info, query or fragment: safe to record."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class HostedRequest:
    """One image to make: ``operation`` is generate, img2img or inpaint (edits)."""

    operation: str
    model: str
    prompt: str
    size: str | None = None
    image_png: bytes | None = None
    mask_png: bytes | None = None


@dataclass(frozen=True)
class HostedResult:
    """What the provider answered: image bytes and what it reported about itself."""

    image: bytes
    endpoint: str
    request_parameters: dict[str, Any]
    reported_model: str | None
    reported_version: str | None
    response_ids: dict[str, Any]
    usage: dict[str, Any] | None
    attempts: int
    revised_prompt: str | None = None


class HostedProvider(Protocol):
    """A remote image model service."""

    name: str

    def make_image(self, request: HostedRequest) -> HostedResult:
        """Make one image; raise a HostedError subclass with a readable reason."""
        ...


def is_hosted(spec: str | None) -> bool:
    """Whether a model spec names a hosted model."""
    return isinstance(spec, str) and spec.startswith(HOSTED_PREFIX)


def parse_spec(spec: str) -> HostedSpec:
    """Parse ``hosted:<provider>:<model>``; DomainError naming the expected shape."""
    parts = spec[len(HOSTED_PREFIX):].split(":", 1) if is_hosted(spec) else []
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise DomainError(f"hosted model spec {spec!r} must read hosted:<provider>:<model>, "
                          "for example hosted:openai:gpt-image-1")
    return HostedSpec(provider=parts[0], model=parts[1])


def settings_from_env(environ: dict[str, str] | None = None) -> HostedSettings:
    """Read LINEAGE_HOSTED_* settings; DomainError for a missing key or a bad number."""
    env = os.environ if environ is None else environ
    key = env.get("LINEAGE_HOSTED_API_KEY", "").strip()
    if not key:
        raise HostedRejected("a hosted model is configured but LINEAGE_HOSTED_API_KEY is not "
                             "set in this worker's environment")
    return HostedSettings(
        base_url=(env.get("LINEAGE_HOSTED_BASE_URL", "").strip() or DEFAULT_BASE_URL)
        .rstrip("/"),
        api_key=key,
        timeout_seconds=_positive(env, "LINEAGE_HOSTED_TIMEOUT_S", DEFAULT_TIMEOUT_SECONDS),
        max_attempts=int(_positive(env, "LINEAGE_HOSTED_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)),
        backoff_seconds=_positive(env, "LINEAGE_HOSTED_BACKOFF_S", DEFAULT_BACKOFF_SECONDS,
                                  allow_zero=True),
    )


def _positive(env: Any, name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise DomainError(f"{name} must be a number, not {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise DomainError(f"{name} must be {'at least 0' if allow_zero else 'above 0'}, "
                          f"not {raw!r}")
    return value


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced (a server may echo it)."""
    return text.replace(secret, "[redacted]") if secret else text
