"""The one place where SDK and transport exceptions, and unreadable answers, become kit errors.

Both call pipelines end in :func:`call_sdk`: it binds the call for the transport (which records
each response's status, headers and body on it), translates every exception with
:func:`translate_errors`, and checks that a success answer is a JSON:API document before the
caller parses it. An answer that is not (an HTML page from a proxy, invalid JSON, a document
without ``data``) is :class:`~klaviyo_kit.errors.MalformedResponseError`, never the
``AttributeError``, ``ValueError`` or pydantic error a parser would raise further on.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, TypeVar

import httpx

from klaviyo_kit.errors import (
    ConnectError,
    KlaviyoError,
    MalformedResponseError,
    RequestTimeoutError,
    TransportError,
    error_from_response,
)
from klaviyo_kit.sdk._context import bind_call, current_call

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from klaviyo_kit.sdk._context import OperationCall

__all__ = ["call_sdk", "translate_errors"]

R = TypeVar("R")

_SNIPPET: Final = 60
"""Characters of a non-JSON body quoted in the error message (JSON bodies are never quoted)."""
_OBJECT_MEMBERS: Final = ("links", "meta")
"""Top-level members that, when present, must be JSON objects."""
_NOT_JSON: Final = object()
"""What :func:`_decoded` returns for a body that is not JSON."""

# Failures before the request left this machine: safe to retry for any operation.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


def _sdk_class(module_name: str, name: str) -> type | None:
    """Return a class of the SDK if its module is loaded, without loading it."""
    module = sys.modules.get(module_name)
    found = getattr(module, name, None) if module is not None else None
    return found if isinstance(found, type) else None


@contextmanager
def translate_errors(operation: str | None = None) -> Iterator[None]:
    """Translate every SDK and httpx exception raised in the block into :mod:`klaviyo_kit.errors`.

    Klaviyo's error responses become the :class:`~klaviyo_kit.errors.APIError` subclass for their
    status. Failures before the request was sent (refused, DNS, connect or pool timeout)
    become :class:`~klaviyo_kit.errors.ConnectError`, safe to retry for any operation; read and
    write timeouts :class:`~klaviyo_kit.errors.RequestTimeoutError`; anything else that broke
    the exchange midway (a dropped connection, a body that cannot be decoded) a plain
    :class:`~klaviyo_kit.errors.TransportError`. The SDK's ``ApiException`` with status 0 (it
    could not encode the request or parse a value in Klaviyo's answer) becomes a plain,
    non-retryable :class:`~klaviyo_kit.errors.KlaviyoError`: a retry would fail the same way,
    and the request may have been processed. When the call in flight (:func:`bind_call`) had
    already received a success status, any failure to read that answer (the SDK choking on an
    HTML page or invalid JSON) is a :class:`~klaviyo_kit.errors.MalformedResponseError`
    carrying the status and request id. The original is chained with ``raise … from exc``.
    The SDK's argument errors (``ApiValueError``, ``ApiTypeError``) and pydantic's
    ``ValidationError`` (raised by the SDK's ``validate_call`` before anything is sent) are the
    caller's bugs and pass through unchanged.

    Args:
        operation: The SDK operation being called, named in the error.

    Raises:
        klaviyo_kit.errors.KlaviyoError: The translated error.
    """
    try:
        yield
    except KlaviyoError:
        raise
    except _NEVER_SENT as exc:
        raise ConnectError(f"{type(exc).__name__}: {exc}", operation=operation) from exc
    except httpx.TimeoutException as exc:
        raise RequestTimeoutError(f"{type(exc).__name__}: {exc}", operation=operation) from exc
    except httpx.HTTPError as exc:  # transport, decoding, too many redirects
        raise TransportError(f"{type(exc).__name__}: {exc}", operation=operation) from exc
    except Exception as exc:
        answered = _answered(current_call())
        api_exception = _sdk_class("openapi_client.exceptions", "ApiException")
        if api_exception is not None and isinstance(exc, api_exception):
            raise _from_api_exception(exc, operation, answered) from exc
        if answered is not None:  # the SDK failed to decode a success answer
            raise _malformed(answered, _unreadable(answered, exc)) from exc
        raise


def _from_api_exception(
    exc: Exception, operation: str | None, answered: OperationCall | None
) -> KlaviyoError:
    status = int(getattr(exc, "status", 0) or 0)
    reason = getattr(exc, "reason", None)
    if status == 0 and answered is not None:
        return _malformed(answered, _unreadable(answered, exc))
    if status == 0:
        # No HTTP status: the SDK could not encode the request or parse a value in the answer.
        prefix = f"{operation}: " if operation else ""
        return KlaviyoError(f"{prefix}the Klaviyo SDK failed: {reason or 'no reason given'}")
    headers = getattr(exc, "headers", None)
    return error_from_response(
        status,
        body=getattr(exc, "body", None),
        headers=dict(headers.items()) if headers is not None else None,
        operation=operation,
        reason=str(reason) if reason else None,
    )


def call_sdk(
    call: OperationCall,
    fn: Callable[..., R],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
) -> R:
    """Make one attempt of an SDK call: the innermost step of both pipelines.

    Args:
        call: The call in flight; the transport records the response on it.
        fn: The SDK method.
        args: Positional arguments for ``fn``.
        kwargs: Keyword arguments for ``fn``.

    Returns:
        What the SDK method returns, once it is known to be a JSON:API document (or nothing,
        for an empty 202/204 answer).

    Raises:
        klaviyo_kit.errors.MalformedResponseError: If Klaviyo answered with a success status
            and a body that is not a JSON:API document.
        klaviyo_kit.errors.KlaviyoError: Every other failure, translated.
    """
    with bind_call(call), translate_errors(call.name):
        call.forget_response()
        result = fn(*args, **kwargs)
        answered = _answered(call)
        if answered is not None:
            problem = _answer_problem(result, answered.response_body or b"")
            if problem is not None:
                raise _malformed(answered, problem)
        return result


def _answered(call: OperationCall | None) -> OperationCall | None:
    """Return ``call`` if its latest response has a success status, else ``None``."""
    if call is not None and call.status is not None and 200 <= call.status < 300:  # noqa: PLR2004
        return call
    return None


def _answer_problem(result: object, body: bytes) -> str | None:
    """Say what is wrong with the SDK's decoded success answer, or ``None`` if nothing is.

    The SDK returns the decoded document (a ``dict``), the same in an ``ApiResponse``
    (``_with_http_info``), or the undecoded response (``_without_preload_content``), which is
    the caller's to read and is not checked.
    """
    api_response = _sdk_class("openapi_client.api_response", "ApiResponse")
    if api_response is not None and isinstance(result, api_response):
        result = getattr(result, "data", None)
    if isinstance(result, dict):
        return _document_problem(result)
    if result is not None:
        return None
    # None: the SDK read no body (a 202/204 answer, which Klaviyo sends empty, or a status it
    # has no type for) or decoded JSON ``null``. Any body there is must still be a document.
    return _body_problem(body) if body.strip() else None


def _document_problem(doc: object) -> str | None:
    """Say how ``doc`` falls short of a JSON:API success document, or ``None``.

    Every success body in Klaviyo's OpenAPI spec has ``data`` (an object, a list of them, or
    ``null`` for an empty to-one relationship).
    """
    if not isinstance(doc, dict):
        return f"{_kind(doc)}, not a JSON:API document"
    if "data" not in doc:
        members = ", ".join(sorted(doc)[:5]) or "none"
        return f"a JSON:API document without `data` (members: {members})"
    return _member_problem(doc)


def _member_problem(doc: Mapping[str, object]) -> str | None:
    """Say which top-level member of a document with ``data`` has the wrong shape, or ``None``."""
    data = doc["data"]
    if not (data is None or isinstance(data, dict) or _objects(data)):
        return f"`data` that is {_kind(data)}, not a resource object or a list of them"
    included = doc.get("included", [])
    if not _objects(included):
        return f"`included` that is {_kind(included)}, not a list of resource objects"
    for member in _OBJECT_MEMBERS:
        value = doc.get(member, {})
        if not isinstance(value, dict):
            return f"`{member}` that is {_kind(value)}, not an object"
    return None


def _body_problem(body: bytes) -> str | None:
    """Describe a body that did not decode to a JSON:API document; ``None`` if it is one."""
    if not body.strip():
        return "an empty body where a JSON:API document was expected"
    doc = _decoded(body)
    if doc is _NOT_JSON:
        text = " ".join(body.decode("utf-8", "replace").split())
        snippet = text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
        return f"a body that is not JSON: {snippet}"
    return _document_problem(doc)


def _unreadable(call: OperationCall, exc: Exception) -> str:
    """Describe the success answer the SDK raised ``exc`` on."""
    return _body_problem(call.response_body or b"") or (
        f"a document the SDK could not read ({type(exc).__name__})"
    )


def _decoded(body: bytes) -> object:
    """Decode ``body`` as JSON, or return ``_NOT_JSON``."""
    try:
        return json.loads(body)
    except ValueError:  # invalid JSON, or bytes that are not UTF-8 (UnicodeDecodeError)
        return _NOT_JSON


def _objects(value: object) -> bool:
    """Whether ``value`` is a list of JSON objects."""
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _kind(value: object) -> str:
    """Name a decoded JSON value's type as JSON does (``a string``, ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _malformed(call: OperationCall, problem: str) -> MalformedResponseError:
    """Build the error for ``call``'s success answer, which is ``problem``."""
    body = call.response_body or b""
    return MalformedResponseError(
        call.status or 0,
        headers=dict(call.response_headers or {}),
        body=body.decode("utf-8", "replace"),
        operation=call.name,
        reason=f"the answer is {problem}",
    )
