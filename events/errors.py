"""Domain errors shared by every layer; app/errors.py maps them to problem+json."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses (HTTP 422 unless a subclass says otherwise)."""

    status = 422
    title = "Unprocessable request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key (command id) came back with a different request than the one
    it was first recorded for; ``first_request`` names that one ("POST /api/…") when
    known."""

    title = "Idempotency-Key reused"

    def __init__(self, first_request: str | None = None) -> None:
        first = f" (first for {first_request})" if first_request else ""
        super().__init__(
            f"this Idempotency-Key was already used for a different request{first}; "
            "use a new key for each distinct request", first_request=first_request)


class ConcurrencyError(Conflict):
    """The stream moved on since the caller read it (lost optimistic race or stale If-Match)."""

    title = "Stale version"

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual}, not {expected}",
            stream_id=stream_id,
            expected_version=expected,
            actual_version=actual,
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class PolicyViolation(DomainError):
    """A project policy forbids the request; `policy` names it, extra carries the numbers."""

    status = 409
    title = "Policy violation"

    def __init__(self, policy: str, detail: str, **numbers: object) -> None:
        super().__init__(detail, policy=policy, **numbers)
        self.policy = policy


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class ServiceUnavailable(DomainError):
    """A backing service (database, broker, blob store) is down; the client may retry."""

    status = 503
    title = "Service unavailable"
