"""``WebhookASGIApp``: the receiver as an ASGI application, mountable in any ASGI framework."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeAlias

from klaviyo_kit.webhooks._receiver import (
    NOT_ALLOWED,
    WebhookReceiver,
    WebhookResponse,
    too_large,
)

Scope: TypeAlias = Mapping[str, object]
"""The ASGI connection scope."""
Receive: TypeAlias = Callable[[], Awaitable[Mapping[str, object]]]
"""The ASGI ``receive`` callable."""
Send: TypeAlias = Callable[[dict[str, object]], Awaitable[None]]
"""The ASGI ``send`` callable."""

logger = logging.getLogger("klaviyo_kit.webhooks")


def _headers(scope: Scope) -> dict[str, str]:
    raw = scope.get("headers")
    found: dict[str, str] = {}
    if isinstance(raw, (list, tuple)):
        for name, value in raw:
            key = bytes(name).decode("latin-1").lower()
            text = bytes(value).decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
    return found


def _declared_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None


class _ClientDisconnectedError(Exception):
    """The client hung up before sending the whole body."""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """Read the request body; ``None`` once it exceeds ``limit`` bytes.

    Raises:
        _ClientDisconnectedError: The client hung up first; there is no one to answer.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            raise _ClientDisconnectedError
        chunk = message.get("body", b"")
        if isinstance(chunk, (bytes, bytearray)):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(bytes(chunk))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: WebhookResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class WebhookASGIApp:
    """Serve a :class:`WebhookReceiver` over ASGI: POST the delivery to any path.

    The body is read up to the verifier's size cap and no further (413 past it), other
    methods get 405, and lifespan messages are acknowledged so the app also runs on its own
    under uvicorn.

    Args:
        receiver: Verifies and dispatches each delivery.

    Example:
        >>> app = WebhookASGIApp(WebhookReceiver(verifier, router))  # doctest: +SKIP
        >>> fastapi_app.mount("/webhooks/klaviyo", app)  # doctest: +SKIP
    """

    __slots__ = ("receiver",)

    def __init__(self, receiver: WebhookReceiver) -> None:
        """Wrap ``receiver``."""
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope.get("type")
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        if scope.get("method") != "POST":
            await _send(send, NOT_ALLOWED)
            return
        headers = _headers(scope)
        limit = self.receiver.max_body_bytes
        declared = _declared_length(headers)
        try:
            body = (
                None
                if declared is not None and declared > limit
                else await _read_body(receive, limit)
            )
        except _ClientDisconnectedError:
            logger.info("webhook client disconnected before sending the whole body")
            return
        if body is None:
            await _send(send, too_large(limit))
            return
        await _send(send, await self.receiver.ahandle(body, headers))

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message.get("type") == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
