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


def _urllib3_error(exc: BaseException, operation: str | None) -> KlaviyoError | None:
    """Map urllib3 errors, for callers who kept the SDK's own urllib3 REST client."""
    module = sys.modules.get("urllib3.exceptions")
    if module is None or not isinstance(exc, module.HTTPError):
        return None
    if isinstance(exc, (module.TimeoutError, module.ReadTimeoutError)):
        return RequestTimeoutError(str(exc), operation=operation)
    return ConnectError(str(exc), operation=operation)


@contextmanager
def translate_errors(operation: str | None = None) -> Iterator[None]:
    """Translate every SDK and httpx exception raised in the block into :mod:`klaviyo_kit.errors`.

    Klaviyo's error responses become the :class:`~klaviyo_kit.errors.APIError` subclass for their
    status. Failures before the request was sent (refused, DNS, connect or pool timeout)
    become :class:`~klaviyo_kit.errors.ConnectError`, safe to retry for any operation; read and
    write timeouts :class:`~klaviyo_kit.errors.RequestTimeoutError`; anything else that broke
    the exchange midway (a dropped connection) a plain
    :class:`~klaviyo_kit.errors.TransportError`. The original is chained with
    ``raise … from exc``. The SDK's argument errors (``ApiValueError``, ``ApiTypeError``) and
    pydantic's validation errors are the caller's bugs and pass through unchanged.

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
    except httpx.TransportError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}", operation=operation) from exc
    except Exception as exc:
        api_exception = _sdk_api_exception()
        if api_exception is not None and isinstance(exc, api_exception):
            raise _from_api_exception(exc, operation) from exc
        mapped = _urllib3_error(exc, operation)
        if mapped is not None:
            raise mapped from exc
        raise


def _from_api_exception(exc: Exception, operation: str | None) -> KlaviyoError:
    status = int(getattr(exc, "status", 0) or 0)
    reason = getattr(exc, "reason", None)
    if status == 0:
        # The SDK's own client reports TLS failures as status 0.
        return ConnectError(str(reason or "TLS error"), operation=operation)
    headers = getattr(exc, "headers", None)
    return error_from_response(
        status,
        body=getattr(exc, "body", None),
        headers=dict(headers.items()) if headers is not None else None,
        operation=operation,
        reason=str(reason) if reason else None,
    )
