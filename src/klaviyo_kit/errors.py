"""One error tree for everything that can go wrong between your code and Klaviyo.

::

    KlaviyoError
    ├── ConfigurationError           settings missing or inconsistent
    ├── TransportError               no HTTP response (retryable; a dropped connection mid-way)
    │   ├── ConnectError             the request was never sent (DNS, refused, TLS, pool timeout)
    │   └── RequestTimeoutError      sent, but no answer in time
    ├── APIError                     Klaviyo answered with an error status
    │   ├── BadRequestError          400 (and other 4xx without a class of their own)
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403: the key lacks a scope (permanent)
    │   │   └── CloudflareChallengeError   403 HTML page from Klaviyo's CDN (transient, retried)
    │   ├── NotFoundError            404
    │   ├── ConflictError            409 (``duplicate_profile_id``)
    │   ├── RateLimitError           429 (``retry_after``)
    │   ├── ServerError              5xx, including 502/503/504/524
    │   └── MalformedResponseError   a success status whose body is not the JSON:API expected
    ├── RateLimitTimeoutError        the local limiter could not grant a permit before a deadline
    ├── CircuitOpenError             the circuit breaker is failing fast
    ├── QueueFullError               a bounded queue refused an item (nothing was dropped)
    ├── BackendUnavailableError      the queue, store or limiter backend (Redis, SQL) is down
    ├── WebhookVerificationError     an inbound webhook failed verification (``reason``)
    └── JobError                     a background job failed

    ValueError
    └── InvalidInputError            input rejected before any request (names the field and limit)

Every exception of the SDK (``openapi_client.exceptions``) and of httpx is translated into this
tree at one place, ``klaviyo_kit.sdk.translate_errors``, with ``raise … from exc``. Mistakes in the
caller's code (a wrong argument type, a value out of range) stay plain ``TypeError`` and
``ValueError`` (the SDK's argument checks raise pydantic's ``ValidationError``, a
``ValueError``). ``str(error)`` is one short line and never contains an API key.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "APIError",
    "AuthenticationError",
    "BackendUnavailableError",
    "BadRequestError",
    "CircuitOpenError",
    "CloudflareChallengeError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ErrorDetail",
    "InvalidInputError",
    "JobError",
    "KlaviyoError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueFullError",
    "RateLimitError",
    "RateLimitTimeoutError",
    "RequestTimeoutError",
    "ServerError",
    "TransportError",
    "WebhookVerificationError",
    "error_from_response",
    "parse_error_body",
    "parse_retry_after",
    "redact",
]

_KEY_PATTERN: Final = re.compile(r"\b(pk_|sk_|whsec_)[A-Za-z0-9+/=_-]{6,}")
_BEARER: Final = re.compile(r"(Klaviyo-API-Key|Bearer)\s+\S+", re.IGNORECASE)
_EXPECTED_IN: Final = re.compile(r"Expected available in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_MAX_DETAIL: Final = 200


def redact(text: str) -> str:
    """Mask anything that looks like a Klaviyo key or an Authorization value in ``text``.

    Args:
        text: Any text that might reach a log line or an exception message.

    Returns:
        The text with keys replaced by ``***``.
    """
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    return _KEY_PATTERN.sub(lambda m: f"{m.group(1)}***", text)


def _one_line(text: str, limit: int = _MAX_DETAIL) -> str:
    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class KlaviyoError(Exception):
    """Base class of every error klaviyo-kit raises.

    Attributes:
        attempts: How many attempts were made before this error was final.
    """

    retryable: bool = False

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        """Create the error with a one-line message (keys are redacted)."""
        self.message = _one_line(message, limit=400)
        self.attempts = attempts
        super().__init__(self.message)

    def __str__(self) -> str:
        """Return the one-line message, with the attempt count when retries happened."""
        if self.attempts > 1:
            return f"{self.message} (after {self.attempts} attempts)"
        return self.message


class ConfigurationError(KlaviyoError):
    """Settings are missing or inconsistent; the message says what to set."""


class TransportError(KlaviyoError):
    """The request got no HTTP response: connection, TLS or timeout trouble.

    Attributes:
        operation: The SDK operation that was being called, if known.
    """

    retryable = True

    def __init__(self, message: str, *, operation: str | None = None, attempts: int = 1) -> None:
        """Create the error for ``operation``."""
        self.operation = operation
        prefix = f"{operation}: " if operation else ""
        super().__init__(prefix + message, attempts=attempts)


class ConnectError(TransportError):
    """The request was never sent: DNS, refused, TLS, connect or pool timeout (safe to retry)."""


class RequestTimeoutError(TransportError):
    """The request was sent, but Klaviyo did not answer in time (it may have been processed)."""


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of a JSON:API ``errors`` array.

    Attributes:
        id: Klaviyo's id of this error occurrence.
        status: The HTTP status the entry reports.
        code: Machine-readable code, e.g. ``invalid``, ``throttled``, ``duplicate_profile``.
        title: Short human title.
        detail: Human explanation.
        source: ``pointer`` (into the request body) or ``parameter`` (query parameter).
        meta: Extra data, e.g. ``duplicate_profile_id``.
    """

    id: str | None = None
    status: int | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, object] = field(default_factory=dict)


def parse_error_body(body: str | bytes | None) -> tuple[ErrorDetail, ...]:
    """Parse Klaviyo's JSON:API error body; return nothing for HTML or other non-JSON bodies.

    Args:
        body: The raw response body.

    Returns:
        The parsed entries of ``errors[]``, possibly empty.
    """
    if not body:
        return ()
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ()
    entries = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return ()
    details = []
    for raw in entries:
        if not isinstance(raw, dict):
            continue
        status = raw.get("status")
        source = raw.get("source")
        meta = raw.get("meta")
        details.append(
            ErrorDetail(
                id=_str_or_none(raw.get("id")),
                status=int(status)
                if isinstance(status, (int, str)) and str(status).isdigit()
                else None,
                code=_str_or_none(raw.get("code")),
                title=_str_or_none(raw.get("title")),
                detail=_str_or_none(raw.get("detail")),
                source={str(k): str(v) for k, v in source.items()}
                if isinstance(source, dict)
                else {},
                meta=dict(meta) if isinstance(meta, dict) else {},
            )
        )
    return tuple(details)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def parse_retry_after(
    headers: Mapping[str, str] | None,
    detail: str | None = None,
    *,
    now: datetime | None = None,
) -> float | None:
    """Work out how long Klaviyo asked us to wait.

    ``Retry-After`` wins (seconds, or an HTTP-date relative to ``now``); otherwise the detail text
    "Expected available in N second(s)"; otherwise ``None``.

    Args:
        headers: Response headers; looked up case-insensitively.
        detail: The error detail text of a 429.
        now: The current time, for HTTP-date values (default: the system clock).

    Returns:
        Seconds to wait (never negative), or ``None`` when Klaviyo gave no hint.
    """
    value = _header(headers, "retry-after")
    seconds = _retry_after_value(value.strip(), now) if value is not None else None
    if seconds is not None:
        return seconds
    if detail:
        match = _EXPECTED_IN.search(detail)
        if match:
            return float(match.group(1))
    return None


def _retry_after_value(value: str, now: datetime | None) -> float | None:
    """Seconds from a ``Retry-After`` value (seconds or HTTP-date); ``None`` if unusable."""
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "inf", "nan" or "1e400" is no usable hint: an endless pause would follow
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    direct = headers.get(name)
    if direct is not None:
        return direct
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class APIError(KlaviyoError):
    """Klaviyo answered with an error status.

    Attributes:
        status: The HTTP status code.
        code: The first error's ``code`` (``invalid``, ``throttled``, …), if Klaviyo sent JSON.
        detail: The first error's ``detail``, if any.
        errors: Every parsed entry of the JSON:API ``errors`` array.
        request_id: Klaviyo's id for the request (a ``request-id``/``cf-ray`` header or the
            first error's ``id``), to quote to Klaviyo support.
        operation: The SDK operation that was called, if known.
        headers: The response headers (never request headers, so never the key).
        body: The raw response body text.
    """

    retryable = False

    def __init__(
        self,
        status: int,
        *,
        errors: tuple[ErrorDetail, ...] = (),
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        operation: str | None = None,
        reason: str | None = None,
        attempts: int = 1,
    ) -> None:
        """Create the error from a parsed response."""
        self.status = status
        self.errors = errors
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body
        self.operation = operation
        first = errors[0] if errors else None
        self.code = first.code if first else None
        self.detail = (first.detail or first.title) if first else None
        self.request_id = (
            _header(self.headers, "request-id")
            or _header(self.headers, "x-request-id")
            or (first.id if first else None)
            or _header(self.headers, "cf-ray")
        )
        self._read_extras()
        super().__init__(self._summary(reason), attempts=attempts)

    def _read_extras(self) -> None:
        """Read subclass-specific fields from the parsed response (a hook for subclasses)."""

    def _summary(self, reason: str | None) -> str:
        parts = [f"Klaviyo API {self.status}"]
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        if self.operation:
            head += f" on {self.operation}"
        text = self.detail or reason or "no error detail"
        if self.request_id:
            text += f" (request {self.request_id})"
        return f"{head}: {_one_line(text)}"


class BadRequestError(APIError):
    """400, or another 4xx without a class of its own (405, 410, 415, 422, …)."""


class AuthenticationError(APIError):
    """401: the key is missing, malformed or revoked."""


class PermissionDeniedError(APIError):
    """403: the key lacks a scope Klaviyo requires for the operation; retrying cannot help."""


class CloudflareChallengeError(PermissionDeniedError):
    """403 as an HTML page: Klaviyo's CDN (Cloudflare) challenged the request.

    The request never reached Klaviyo's API, and such pages come and go, so unlike a JSON:API 403
    (a missing scope) it is transient: the retry policy retries it with backoff, writes included,
    within the same attempt budget as a 5xx. ``request_id`` is the ``cf-ray`` header when sent.
    """

    retryable = True


class NotFoundError(APIError):
    """404: no such resource (or no such path)."""


class ConflictError(APIError):
    """409: the request conflicts with existing state.

    Attributes:
        duplicate_profile_id: For ``duplicate_profile`` conflicts, the id of the existing profile
            (from ``meta.duplicate_profile_id``), so the caller can update it instead.
    """

    duplicate_profile_id: str | None = None

    def _read_extras(self) -> None:
        for entry in self.errors:
            dup = entry.meta.get("duplicate_profile_id")
            if dup:
                self.duplicate_profile_id = str(dup)
                break


class RateLimitError(APIError):
    """429: Klaviyo throttled the request.

    Attributes:
        retry_after: Seconds Klaviyo asked us to wait (``Retry-After`` header, else the detail's
            "Expected available in N seconds"), or ``None``.
    """

    retryable = True

    retry_after: float | None = None

    def _read_extras(self) -> None:
        self.retry_after = parse_retry_after(self.headers, self.detail)


class ServerError(APIError):
    """5xx: Klaviyo (or its CDN: 502, 504, 524) failed; worth retrying."""

    retryable = True


class MalformedResponseError(APIError):
    """Klaviyo answered with a success status but a body the kit cannot read.

    An HTML or non-JSON page, or a JSON:API document without ``data``: usually a proxy or CDN
    answering in Klaviyo's place. ``status``, ``operation`` and ``request_id`` say which call;
    ``body`` keeps the text. Not retried: a write may have been applied.
    """


class RateLimitTimeoutError(KlaviyoError):
    """The local rate limiter could not grant a permit before the caller's deadline.

    Attributes:
        operation: The operation (rate-limit bucket) that was waited for.
        wait: Seconds the caller would still have had to wait.
    """

    def __init__(self, operation: str, wait: float) -> None:
        """Create the error for ``operation`` that needed ``wait`` more seconds."""
        self.operation = operation
        self.wait = wait
        super().__init__(
            f"rate limit for {operation} would need {wait:.2f}s more than the deadline allows"
        )


class CircuitOpenError(KlaviyoError):
    """The circuit breaker is open after repeated failures; calls fail fast until it half-opens.

    Attributes:
        retry_in: Seconds until the breaker lets a trial call through.
    """

    def __init__(self, message: str, *, retry_in: float = 0.0) -> None:
        """Create the error; ``retry_in`` says when the breaker will half-open."""
        self.retry_in = retry_in
        super().__init__(message)


class QueueFullError(KlaviyoError):
    """A bounded queue is full; the item was not accepted (and not dropped)."""


class BackendUnavailableError(KlaviyoError):
    """A backend the kit depends on (the Redis queue, the SQL state store) did not answer.

    Raised at once, or after the backend's bounded wait; nothing was lost (an item that could not
    be queued was not accepted). The cause is chained (``raise … from``), never a third-party
    class escaping on its own.

    Attributes:
        backend: What failed, e.g. ``"redis queue"`` or ``"sql store"``.
    """

    def __init__(self, backend: str, message: str) -> None:
        """Create the error for ``backend`` (the message must hold no credentials)."""
        self.backend = backend
        super().__init__(f"{backend} unavailable: {message}")


class WebhookVerificationError(KlaviyoError):
    """An inbound webhook failed verification.

    Attributes:
        reason: One of ``missing_header``, ``bad_signature``, ``stale``, ``webhook_id_mismatch``,
            ``body_too_large``, ``malformed``.
    """

    def __init__(self, reason: str, message: str) -> None:
        """Create the error with a machine-readable ``reason`` and a human message."""
        self.reason = reason
        super().__init__(f"webhook verification failed ({reason}): {message}")


class JobError(KlaviyoError):
    """A background job failed; the message names the job and the cause."""


class InvalidInputError(ValueError):
    """Input the kit rejected before sending anything: it names the field and the limit.

    A ``ValueError`` (a bug in the caller's data), not a :class:`KlaviyoError`.

    Attributes:
        field: The offending field, e.g. ``email`` or ``events[3].properties.note``.
    """

    def __init__(self, field: str, problem: str) -> None:
        """Create the error for ``field`` with a human description of the ``problem``."""
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {redact(problem)}")


_BY_STATUS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_from_response(
    status: int,
    *,
    body: str | bytes | None,
    headers: Mapping[str, str] | None = None,
    operation: str | None = None,
    reason: str | None = None,
) -> APIError:
    """Build the most specific :class:`APIError` for an error response.

    Args:
        status: The HTTP status code.
        body: The raw body; JSON:API errors are parsed, anything else (HTML) is kept as text.
        headers: The response headers.
        operation: The SDK operation that was called.
        reason: The HTTP reason phrase, used when the body has no detail.

    Returns:
        An instance of the subclass for ``status`` (``ServerError`` for any 5xx,
        ``BadRequestError`` for other 4xx).
    """
    cls = _BY_STATUS.get(status)
    if cls is None:
        if status >= 500:  # noqa: PLR2004
            cls = ServerError
        elif status >= 400:  # noqa: PLR2004
            cls = BadRequestError
        else:
            cls = APIError
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if status == 403 and text and "<html" in text.lower():  # noqa: PLR2004
        cls = CloudflareChallengeError
        reason = (
            "Forbidden: an HTML page answered (likely a Cloudflare challenge), not Klaviyo's API"
        )
    return cls(
        status,
        errors=parse_error_body(text),
        headers=headers,
        body=text,
        operation=operation,
        reason=reason,
    )
