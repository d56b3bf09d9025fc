"""``AsyncKlaviyoClient``: the asynchronous twin, running the blocking SDK in a thread pool."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread

from klaviyo_kit.client._base import BaseClient
from klaviyo_kit.sdk import AsyncPipeline
from klaviyo_kit.services import AsyncProfiles

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from types import TracebackType

    import httpx
    from typing_extensions import Self

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.sdk import AsyncStage
    from klaviyo_kit.services import Call

__all__ = ["AsyncKlaviyoClient"]

T = TypeVar("T")


class AsyncKlaviyoClient(BaseClient):
    """The async twin of :class:`~klaviyo_kit.KlaviyoClient`: the same services, awaited.

    The SDK blocks, so each SDK call runs in a worker thread, at most ``max_threads`` at once
    (starlette's ``run_in_threadpool`` pattern); request building, parsing, retry decisions and
    error translation are the same code as the sync client's.

    Args:
        settings: Keys, URLs and options; ``None`` reads ``KLAVIYO_*`` from the environment.
        transport: An httpx (sync) transport for the SDK's worker threads.
        http_client: A ready httpx client instead; the caller keeps ownership.
        stages: The async pipeline's stages, outermost first; ``None`` for the defaults.
        max_threads: The most SDK calls in flight at once.
        sleep: How to wait without blocking (polling, backoff); injectable for tests.

    Example:
        ```python
        async with AsyncKlaviyoClient() as client:
            profile = await client.profiles.upsert({"email": "ada@example.com"})
        ```
    """

    def __init__(
        self,
        settings: KlaviyoSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        stages: Sequence[AsyncStage] | None = None,
        max_threads: int = 16,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        """Create the client; the SDK itself is imported on first use."""
        super().__init__(settings, transport, http_client)
        self._threads = anyio.CapacityLimiter(max_threads)
        self._asleep = sleep
        self.pipeline = AsyncPipeline(stages or (), self._run_sync)

    async def _run_sync(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=self._threads)

    async def aexecute(self, call: Call) -> object:
        """Perform one SDK call described by a service flow, through the async pipeline."""
        op, fn, kwargs = self._resolve(call)
        return await self.pipeline.invoke(op, fn, call.args, kwargs)

    async def asleep(self, seconds: float) -> None:
        """Wait with the injected async sleep (used when polling jobs)."""
        await self._asleep(seconds)

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(timezone.utc)

    @cached_property
    def profiles(self) -> AsyncProfiles:
        """Profiles, awaited: upsert, get, find by email, iterate, bulk import, sync."""
        return AsyncProfiles(self)

    async def aclose(self) -> None:
        """Close the httpx client (if this client built it)."""
        self._close_http()

    async def __aenter__(self) -> Self:
        """Use the client as an async context manager that closes it on exit."""
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        await self.aclose()
