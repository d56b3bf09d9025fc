"""The SDK's REST client, carried by httpx.

The generated SDK calls ``api_client.rest_client.request(...)`` and reads the returned object.
:class:`HttpxRestClient` implements exactly that interface over an :class:`httpx.Client`, so the
kit gets default timeouts, connection pooling and an injectable :class:`httpx.BaseTransport` (the
sandbox, ``httpx.MockTransport``, respx) while the SDK keeps building and parsing every request.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

import httpx

from klaviyo_kit.sdk._context import current_call

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["HttpxRestClient", "HttpxRestResponse"]

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "OPTIONS", "DELETE"})
_FORM: Final = "application/x-www-form-urlencoded"
_MULTIPART: Final = "multipart/form-data"


class HttpxRestResponse:
    """What the SDK expects back from its REST client, over an :class:`httpx.Response`.

    Attributes:
        response: The underlying httpx response.
        status: The HTTP status code.
        reason: The reason phrase.
        data: The body bytes once :meth:`read` was called, else ``None``.
    """

    __slots__ = ("data", "reason", "response", "status")

    def __init__(self, response: httpx.Response) -> None:
        """Wrap a fully read httpx response."""
        self.response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.data: bytes | None = None

    def read(self) -> bytes:
        """Return the body; ``b""`` for empty 202/204 bodies (the SDK asserts on ``None``)."""
        if self.data is None:
            self.data = self.response.content or b""
        return self.data

    def getheaders(self) -> httpx.Headers:
        """Return the response headers (a case-insensitive mapping)."""
        return self.response.headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        """Return one response header, case-insensitively."""
        value: str | None = self.response.headers.get(name, default)
        return value


def _timeout(value: object, default: httpx.Timeout) -> httpx.Timeout:
    """Turn the SDK's ``_request_timeout`` (None, seconds, or (connect, read)) into httpx's."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return httpx.Timeout(float(value))
    if isinstance(value, tuple) and len(value) == 2:  # noqa: PLR2004 - (connect, read)
        connect, read = (float(v) for v in value)
        return httpx.Timeout(read, connect=connect)
    msg = f"_request_timeout must be seconds or a (connect, read) tuple, got {value!r}"
    raise TypeError(msg)


class HttpxRestClient:
    """A drop-in for ``openapi_client.rest.RESTClientObject`` that sends through httpx.

    Args:
        client: The httpx client to send with; the caller owns its lifecycle.
        timeout: The timeout used when the SDK call passes no ``_request_timeout``.
    """

    def __init__(self, client: httpx.Client, *, timeout: httpx.Timeout) -> None:
        """Send the SDK's requests through ``client``."""
        self._client = client
        self._timeout = timeout

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: object = None,
        post_params: Sequence[tuple[str, object]] | None = None,
        _request_timeout: object = None,
    ) -> HttpxRestResponse:
        """Send one request exactly as the SDK's urllib3 client would, and read the response.

        Args:
            method: The HTTP method.
            url: The full URL, query string included.
            headers: Request headers (auth, revision, content type, user agent).
            body: A JSON-able object (serialized here), or ``str``/``bytes`` sent as is (for a
                JSON content type too: an encoded document).
            post_params: Form or multipart fields (file parts: ``(name, (file, data, mime))``).
            _request_timeout: ``None``, seconds, or a ``(connect, read)`` tuple.

        Returns:
            The response, already read.

        Raises:
            httpx.HTTPError: Transport failures, translated by the call pipeline.
            ValueError: If both ``body`` and ``post_params`` are given.
        """
        method = method.upper()
        send_headers = httpx.Headers(dict(headers or {}))
        timeout = _timeout(_request_timeout, self._timeout)
        content: bytes | str | None = None
        data: dict[str, list[object]] | None = None
        files: list[tuple[str, object]] | None = None
        if post_params and body is not None:
            msg = "body parameter cannot be used with post_params parameter"
            raise ValueError(msg)
        if method in _BODY_METHODS:
            content_type = send_headers.get("content-type", "")
            if not content_type or "json" in content_type.lower():
                content = _json_content(body)
            elif content_type == _FORM:
                data, _ = _fields(post_params or ())
            elif content_type == _MULTIPART:
                del send_headers["content-type"]  # httpx writes it with the boundary
                data, files = _fields(post_params or (), multipart=True)
            elif isinstance(body, (str, bytes)):
                content = body
            elif isinstance(body, bool):
                content = "true" if body else "false"
            else:
                msg = "cannot prepare a request body for the declared content type"
                raise ValueError(msg)
        request = self._client.build_request(
            method,
            url,
            headers=send_headers,
            content=content,
            data=data,
            files=files,  # type: ignore[arg-type]
            timeout=timeout,
        )
        response = self._client.send(request)
        try:
            response.read()
        finally:
            response.close()
        call = current_call()
        if call is not None:
            call.record_response(response.status_code, response.headers, response.content)
        return HttpxRestResponse(response)


def _fields(
    params: Sequence[tuple[str, object]], *, multipart: bool = False
) -> tuple[dict[str, list[object]], list[tuple[str, object]]]:
    """Split form parameters into httpx's ``data`` and ``files``; repeated names all stay.

    In multipart bodies, ``(filename, data, mime)`` tuples are files and dicts are sent as
    JSON, as the SDK's urllib3 client does.
    """
    data: dict[str, list[object]] = {}
    files: list[tuple[str, object]] = []
    for name, value in params:
        if multipart and isinstance(value, tuple):
            files.append((name, value))
        else:
            part = json.dumps(value) if multipart and isinstance(value, dict) else value
            data.setdefault(name, []).append(part)
    return data, files


def _json_content(body: object) -> bytes | str | None:
    """Encode a JSON body; ``bytes``/``str`` are a document the kit encoded already."""
    if body is None or isinstance(body, (bytes, str)):
        return body
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
