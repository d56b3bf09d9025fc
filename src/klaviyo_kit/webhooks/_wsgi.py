"""``WebhookWSGIApp``: the receiver as a WSGI application, mountable in any WSGI framework."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeAlias

from klaviyo_kit.webhooks._receiver import (
    NOT_ALLOWED,
    WebhookReceiver,
    WebhookResponse,
    too_large,
)

Environ: TypeAlias = Mapping[str, object]
"""The WSGI environ."""
StartResponse: TypeAlias = Callable[[str, list[tuple[str, str]]], object]
"""The WSGI ``start_response`` callable."""

_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
}


def environ_headers(environ: Environ) -> dict[str, str]:
    """Rebuild the request headers (lower-case names) from a WSGI environ."""
    found: dict[str, str] = {}
    for key, value in environ.items():
        if not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            found[key[5:].replace("_", "-").lower()] = value
        elif key in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            found[key.replace("_", "-").lower()] = value
    return found


def _read_body(environ: Environ, limit: int) -> bytes | None:
    """Read the body, at most ``limit`` bytes; ``None`` past the limit.

    PEP 3333: read no more than ``CONTENT_LENGTH``. Without it the body is read only from a
    stream the server terminates (``wsgi.input_terminated``, e.g. chunked uploads); otherwise
    there is no body, and reading anyway could block until the client hangs up.
    """
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared.isascii() and declared.isdigit():
        if int(declared) > limit:
            return None
        size = int(declared)
    elif environ.get("wsgi.input_terminated"):
        size = limit + 1
    else:
        return b""
    read = getattr(environ.get("wsgi.input"), "read", None)
    data = read(size) if callable(read) and size else b""
    body = bytes(data) if isinstance(data, (bytes, bytearray)) else b""
    return None if len(body) > limit else body


class WebhookWSGIApp:
    """Serve a :class:`WebhookReceiver` over WSGI: POST the delivery to any path.

    A ``CONTENT_LENGTH`` over the verifier's size cap is answered 413 unread; without one,
    only a stream the server terminates (chunked uploads) is read, and no further than the
    cap. Other methods get 405.

    Args:
        receiver: Verifies and dispatches each delivery.

    Example:
        >>> app = WebhookWSGIApp(WebhookReceiver(verifier, router))  # doctest: +SKIP
    """

    __slots__ = ("receiver",)

    def __init__(self, receiver: WebhookReceiver) -> None:
        """Wrap ``receiver``."""
        self.receiver = receiver

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request."""
        if environ.get("REQUEST_METHOD") != "POST":
            response = NOT_ALLOWED
        else:
            limit = self.receiver.max_body_bytes
            body = _read_body(environ, limit)
            response = (
                too_large(limit)
                if body is None
                else self.receiver.handle(body, environ_headers(environ))
            )
        return self._respond(response, start_response)

    @staticmethod
    def _respond(response: WebhookResponse, start_response: StartResponse) -> Iterable[bytes]:
        status = f"{response.status} {_REASONS.get(response.status, 'Unknown')}"
        headers = [*response.headers, ("content-length", str(len(response.body)))]
        start_response(status, headers)
        return [response.body]
