"""Send the kit's own finished JSON:API document for an operation, under the SDK's session.

The SDK validates a request body into its generated models and dumps it again before sending:
on bulk paths that round trip is most of the CPU and memory of a request. A service that has
already built and validated its document sends it here instead (``Call(..., document=...)``):
the method and path come from the operation table, the headers (key, revision, user agent,
content type) from the SDK's own ``ApiClient``, and the request goes through the same httpx
transport and the same pipeline stages. A failure status raises the SDK's ``ApiException``,
which :func:`~klaviyo_kit.sdk._translate.call_sdk` translates as for any SDK call.

Tests keep the two paths equal: each document a service sends is accepted by the SDK's model
for that operation.
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.operations import Operation

__all__ = ["document_sender"]

_JSON_API: Final = "application/vnd.api+json"
_AUTH: Final = ["Klaviyo-API-Key", "OAuth"]


def document_sender(api: object, operation: Operation, document: bytes) -> Callable[[], object]:
    """Return a call that sends ``document`` as the body of ``operation``.

    Args:
        api: The SDK's ``KlaviyoAPI`` (it holds the ``ApiClient``); no API group is loaded.
        operation: The operation: its HTTP method and path (without path parameters).
        document: The request body, a JSON:API document encoded as UTF-8 JSON.

    Returns:
        A callable making one attempt; it returns the decoded answer (``None`` when empty).

    Raises:
        ValueError: If the operation's path has parameters (not supported here).
    """
    if "{" in operation.path:
        msg = f"{operation.name}: a document cannot be sent to a path with parameters"
        raise ValueError(msg)
    client = api.api_client  # type: ignore[attr-defined]

    def send() -> object:
        # The SDK is loaded by now (``api`` came from it); this package never imports it itself.
        api_exception = importlib.import_module("openapi_client.exceptions").ApiException
        method, url, headers, body, post_params = client.param_serialize(
            method=operation.http_method,
            resource_path=operation.path,
            header_params={"Accept": _JSON_API, "Content-Type": _JSON_API},
            body=document,
            auth_settings=_AUTH,
        )
        response = client.call_api(
            method, url, header_params=headers, body=body, post_params=post_params
        )
        data: bytes = response.read() or b""
        if not 200 <= response.status <= 299:  # noqa: PLR2004 - success statuses
            raise api_exception.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        return json.loads(data) if data.strip() else None

    return send
