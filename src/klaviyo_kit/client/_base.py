"""What the sync and async clients share: settings, the httpx client, the SDK session, state."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, TypeVar, cast

from klaviyo_kit._config_urls import mask_url
from klaviyo_kit.client._resilience import build_resilience
from klaviyo_kit.config import KlaviyoSettings
from klaviyo_kit.infra import build_cache
from klaviyo_kit.operations import operation
from klaviyo_kit.sdk import SdkSession, build_http_client, normalize_kwargs
from klaviyo_kit.sdk._documents import document_sender

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Iterator

    import httpx

    from klaviyo_kit.infra import Cache
    from klaviyo_kit.operations import Operation
    from klaviyo_kit.resilience import CircuitBreaker, Hooks, RateLimiter, RetryPolicy
    from klaviyo_kit.services import Call

__all__ = ["BaseClient", "ClientState"]

S = TypeVar("S")


class ClientState(Enum):
    """Where a client is in its life: reuse after ``close()`` is an error."""

    OPENED = "opened"
    CLOSED = "closed"


class BaseClient:
    """The I/O-free half of both clients (httpx's ``BaseClient`` pattern)."""

    def __init__(
        self,
        settings: KlaviyoSettings | None,
        transport: httpx.BaseTransport | None,
        http_client: httpx.Client | None,
        *,
        cache: Cache | None,
        limiter: RateLimiter | None,
        retry: RetryPolicy | None,
        breaker: CircuitBreaker | None,
        hooks: Iterable[Hooks],
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Resolve settings; build (or adopt) the httpx client, SDK session, cache and resilience.

        What the client builds, it closes; what the caller passed in stays open.
        """
        if transport is not None and http_client is not None:
            msg = "pass transport= or http_client=, not both (give the transport to your client)"
            raise ValueError(msg)
        self.settings = settings if settings is not None else KlaviyoSettings()
        self._owns_http = http_client is None
        self._http = http_client or build_http_client(self.settings, transport)
        self._session = SdkSession(self.settings, self._http)
        self._state = ClientState.OPENED
        self._services: dict[str, object] = {}
        self._services_lock = threading.Lock()
        self._owned: list[object] = []
        with self._closing_on_error():
            self.cache: Cache = cache if cache is not None else build_cache(self.settings)
            self._own(self.cache if cache is None else None)
            self.resilience = build_resilience(
                self.settings,
                limiter=limiter,
                retry=retry,
                breaker=breaker,
                hooks=hooks,
                sleep=sleep,
                asleep=asleep,
            )
            self._own(self.resilience.limiter if limiter is None else None)

    @contextmanager
    def _closing_on_error(self) -> Iterator[None]:
        """Close what the constructor built so far if the rest of it fails."""
        try:
            yield
        except BaseException:
            self._close_owned()
            raise

    def _own(self, *resources: object) -> None:
        """Close ``resources`` (built here, e.g. a Redis limiter or cache) with the client."""
        self._owned.extend(r for r in resources if r is not None)

    @property
    def state(self) -> ClientState:
        """Whether the client is open or closed."""
        return self._state

    def _service(self, name: str, build: Callable[[], S]) -> S:
        """Return the client's one instance of a service, building it on first use (locked)."""
        with self._services_lock:
            found = self._services.get(name)
            if found is None:
                found = self._services[name] = build()
            return cast("S", found)

    def _check_open(self) -> None:
        if self._state is ClientState.CLOSED:
            msg = f"this {type(self).__name__} is closed; create a new one"
            raise RuntimeError(msg)

    def _resolve(
        self, call: Call
    ) -> tuple[Operation, Callable[..., object], tuple[object, ...], dict[str, object]]:
        """The operation, one attempt's callable, and the arguments the pipeline sees."""
        self._check_open()
        if call.document is None and not call.raw:
            op, fn = self._session.resolve(call.group, call.method)
            return op, fn, call.args, normalize_kwargs(dict(call.kwargs))
        if call.kwargs or (call.document is not None and call.args):
            msg = f"{call.method}: a call with a document takes no other arguments"
            raise ValueError(msg)
        op = operation(call.method)  # from the table: the SDK's group (its models) stays unloaded
        if op.group != call.group:
            msg = f"{call.method} is an operation of {op.group!r}, not {call.group!r}"
            raise ValueError(msg)
        if call.document is None:
            send = document_sender(self._session.api, op, None, call.args)
            return op, lambda *_args: send(), call.args, {}
        send = document_sender(self._session.api, op, call.document)
        # The stages see the document as the call's body (retry safety reads its unique ids).
        return op, lambda _document: send(), (call.document,), {}

    def _close_owned(self) -> None:
        for resource in self._begin_close():
            close = getattr(resource, "close", None)
            if callable(close):
                close()

    async def _aclose_owned(self) -> None:
        for resource in self._begin_close():
            aclose = getattr(resource, "aclose", None)
            close = getattr(resource, "close", None)
            if callable(aclose):
                await aclose()
            elif callable(close):
                close()

    def _begin_close(self) -> list[object]:
        """Mark the client closed and close its httpx client; return what else it owns."""
        if self._state is ClientState.CLOSED:
            return []
        self._state = ClientState.CLOSED
        if self._owns_http:
            self._http.close()
        owned, self._owned = self._owned, []
        return owned

    def __repr__(self) -> str:
        """Describe the client; never shows a key."""
        s = self.settings
        return (
            f"{type(self).__name__}(environment={s.environment.value!r}, "
            f"base_url={mask_url(s.base_url)!r}, "
            f"revision={s.revision!r}, state={self._state.value!r})"
        )
