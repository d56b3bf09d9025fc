"""The one place where SDK and transport exceptions become the kit's error tree."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from klaviyo_kit.errors import (
    ConnectError,
    KlaviyoError,
    RequestTimeoutError,
    TransportError,
    error_from_response,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["translate_errors"]

# Failures before the request left this machine: safe to retry for any operation.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


def _sdk_api_exception() -> type[Exception] | None:
    """Return the SDK's ``ApiException`` if the SDK is loaded, without loading it."""
    module = sys.modules.get("openapi_client.exceptions")
    return getattr(module, "ApiException", None) if module is not None else None


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
    and the request may have been processed. The original is chained with ``raise … from exc``.
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
        api_exception = _sdk_api_exception()
        if api_exception is not None and isinstance(exc, api_exception):
            raise _from_api_exception(exc, operation) from exc
        raise


def _from_api_exception(exc: Exception, operation: str | None) -> KlaviyoError:
    status = int(getattr(exc, "status", 0) or 0)
    reason = getattr(exc, "reason", None)
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
