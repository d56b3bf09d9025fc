"""``AsyncKlaviyoClient``: the asynchronous twin, running the blocking SDK in a thread pool."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread

from klaviyo_kit.client._base import BaseClient
from klaviyo_kit.health import HealthReport, acheck_klaviyo, run_checks
from klaviyo_kit.sdk import AsyncPipeline, AsyncSdkApis
from klaviyo_kit.services import (
    AsyncCampaigns,
    AsyncEvents,
    AsyncLists,
    AsyncMetrics,
    AsyncProfiles,
    AsyncSegments,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
    from types import TracebackType

    import httpx
    from typing_extensions import Self

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.infra import Cache
    from klaviyo_kit.operations import Operation
    from klaviyo_kit.resilience import CircuitBreaker, Hooks, RateLimiter, RetryPolicy
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
        limiter: Paces calls per account and operation; ``None`` builds one from settings.
        retry: The retry policy; ``None`` builds one from ``settings.retry``.
        breaker: The circuit breaker; ``None`` builds one from ``settings.breaker``.
        hooks: Extra observers of requests, retries, throttling and breaker changes.
        stages: Replace the whole async pipeline (outermost first).
        max_threads: The most SDK calls in flight at once.
        cache: The cache for lookups (metric ids, list names, segment membership);
            ``None`` builds one from the settings (a ``NullCache`` when caching is off).
        sleep: How to wait without blocking (polling, backoff, throttling); injectable for tests.

    Raises:
        ValueError: If ``max_threads`` is below 1, or both ``transport`` and ``http_client``
            are given.

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
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        hooks: Iterable[Hooks] = (),
        stages: Sequence[AsyncStage] | None = None,
        max_threads: int = 16,
        cache: Cache | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        """Create the client; the SDK itself is imported on first use."""
        if max_threads < 1:
            msg = f"max_threads must be at least 1, got {max_threads}"
            raise ValueError(msg)
        super().__init__(
            settings,
            transport,
            http_client,
            cache=cache,
            limiter=limiter,
            retry=retry,
            breaker=breaker,
            hooks=hooks,
            asleep=sleep,
        )
        self._threads = anyio.CapacityLimiter(max_threads)
        self._asleep = sleep
        chosen = self.resilience.async_stages() if stages is None else stages
        self.pipeline = AsyncPipeline(chosen, self._run_sync)
        self._sdk = AsyncSdkApis(self._session.group, self._invoke)

    async def _run_sync(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=self._threads)

    async def _invoke(
        self,
        operation: Operation,
        fn: Callable[..., object],
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
    ) -> object:
        self._check_open()
        return await self.pipeline.invoke(operation, fn, args, kwargs)

    async def health(self, *, probe_klaviyo: bool = False) -> HealthReport:
        """Check key, breaker, limiter, cache, senders and, if asked, Klaviyo; see the sync twin.

        The infrastructure checks run in a worker thread, so a slow Redis never blocks the loop.
        """
        self._check_open()
        events = self._services.get("events")
        senders = events.senders if isinstance(events, AsyncEvents) else ()
        report = await anyio.to_thread.run_sync(
            lambda: run_checks(
                breaker=self.resilience.breaker,
                limiter=self.resilience.limiter,
                cache=self.cache,
                private_key=self.settings.private_key is not None,
                senders=senders,
            )
        )
        if not probe_klaviyo:
            return report
        klaviyo = await acheck_klaviyo(self.sdk.accounts.get_accounts)
        return HealthReport((*report.checks, klaviyo))

    @property
    def sdk(self) -> AsyncSdkApis:
        """Every SDK API group, awaited: ``await client.sdk.lists.get_lists()``.

        Raises:
            RuntimeError: If the client is closed.
        """
        self._check_open()
        return self._sdk

    async def aexecute(self, call: Call) -> object:
        """Perform one SDK call described by a service flow, through the async pipeline."""
        op, fn, args, kwargs = self._resolve(call)
        return await self.pipeline.invoke(op, fn, args, kwargs)

    async def asleep(self, seconds: float) -> None:
        """Wait with the injected async sleep (used when polling jobs)."""
        await self._asleep(seconds)

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(timezone.utc)

    @property
    def profiles(self) -> AsyncProfiles:
        """Profiles, awaited: upsert, get, find by email, iterate, bulk import, sync."""
        return self._service("profiles", lambda: AsyncProfiles(self))

    @property
    def lists(self) -> AsyncLists:
        """Lists, awaited: create, get, find by name, iterate, members, consent in bulk."""
        return self._service("lists", lambda: AsyncLists(self))

    @property
    def segments(self) -> AsyncSegments:
        """Segments, awaited: iterate, get, iterate members, cached membership checks."""
        return self._service("segments", lambda: AsyncSegments(self))

    @property
    def campaigns(self) -> AsyncCampaigns:
        """Email campaigns, awaited: create, content, template, send, wait until sent, cancel."""
        return self._service("campaigns", lambda: AsyncCampaigns(self))

    @property
    def metrics(self) -> AsyncMetrics:
        """Metrics, awaited: iterate, get, cached id by name, daily counts and sums."""
        return self._service("metrics", lambda: AsyncMetrics(self))

    @property
    def events(self) -> AsyncEvents:
        """Events, awaited: track one, a purchase, many in bulk; background sending."""
        return self._service("events", lambda: AsyncEvents(self))

    async def aclose(self) -> None:
        """Flush and stop background event senders, then close what the client built.

        That is the httpx client, and a Redis rate limiter or cache built from the settings;
        anything passed in (``http_client``, ``limiter``, ``cache``) stays open.
        """
        events = self._services.get("events")
        if isinstance(events, AsyncEvents):
            await events.aclose()
        await self._aclose_owned()

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
