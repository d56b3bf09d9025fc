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
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from klaviyo_kit.operations import Operation

__all__ = ["document_sender"]

_JSON_API: Final = "application/vnd.api+json"
_AUTH: Final = ["Klaviyo-API-Key", "OAuth"]
_PARAMETER: Final = re.compile(r"\{(\w+)\}")


def document_sender(
    api: object,
    operation: Operation,
    document: bytes | None,
    path_args: Sequence[object] = (),
) -> Callable[[], object]:
    """Return a call that sends ``document`` as the body of ``operation``.

    Args:
        api: The SDK's ``KlaviyoAPI`` (it holds the ``ApiClient``); no API group is loaded.
        operation: The operation: its HTTP method and path.
        document: The request body, a JSON:API document encoded as UTF-8 JSON, or ``None``
            for a request without a body (a ``GET``).
        path_args: The values of the path's parameters, in the order the path names them.

    Returns:
        A callable making one attempt; it returns the decoded answer (``None`` when empty).

    Raises:
        ValueError: If ``path_args`` do not match the path's parameters.
    """
    names = _PARAMETER.findall(operation.path)
    if len(names) != len(path_args):
        msg = f"{operation.name}: its path takes {len(names)} parameter(s), got {len(path_args)}"
        raise ValueError(msg)
    path_params = {name: str(value) for name, value in zip(names, path_args, strict=True)}
    client = api.api_client  # type: ignore[attr-defined]
    headers = {"Accept": _JSON_API}
    if document is not None:
        headers["Content-Type"] = _JSON_API

    def send() -> object:
        # The SDK is loaded by now (``api`` came from it); this package never imports it itself.
        api_exception = importlib.import_module("openapi_client.exceptions").ApiException
        method, url, header_params, body, post_params = client.param_serialize(
            method=operation.http_method,
            resource_path=operation.path,
            path_params=path_params,
            header_params=dict(headers),
            body=document,
            auth_settings=_AUTH,
        )
        response = client.call_api(
            method, url, header_params=header_params, body=body, post_params=post_params
        )
        data: bytes = response.read() or b""
        if not 200 <= response.status <= 299:  # noqa: PLR2004 - success statuses
            raise api_exception.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        return json.loads(data) if data.strip() else None

    return send
