"""The sandbox as an ``httpx.BaseTransport``: in process, no socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from klaviyo_kit.sandbox._sandbox import Sandbox


class SandboxTransport(httpx.BaseTransport):
    """Answers httpx requests from a :class:`Sandbox` without opening a socket.

    Dropped connections raise ``httpx.RemoteProtocolError``; hangs sleep for the request's read
    timeout (or the plan's ``hang_seconds``) on the sandbox's ``sleep`` and raise
    ``httpx.ReadTimeout``, as a real client would see them.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        """Serve ``sandbox``."""
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request."""
        url = request.url
        outcome = self._sandbox.exchange(
            request.method,
            url.path,
            url.query.decode(),
            dict(request.headers),
            request.read(),
            base=f"{url.scheme}://{url.netloc.decode()}",
        )
        if outcome.response is not None:
            return httpx.Response(
                outcome.response.status,
                headers=dict(outcome.response.headers),
                content=outcome.response.body,
                request=request,
            )
        if outcome.fault.kind == "hang":
            timeout = request.extensions.get("timeout", {}).get("read")
            self._sandbox.sleep(timeout if timeout is not None else outcome.hang_seconds)
            raise httpx.ReadTimeout("The sandbox never answered (injected hang).", request=request)
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response (injected drop).", request=request
        )
