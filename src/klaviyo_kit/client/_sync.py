"""``KlaviyoClient``: the synchronous entry point."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from klaviyo_kit.client._base import BaseClient
from klaviyo_kit.health import HealthReport, run_checks
from klaviyo_kit.sdk import Pipeline, SdkApis
from klaviyo_kit.services import (
    Campaigns,
    Events,
    Lists,
    Metrics,
    Profiles,
    Segments,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from types import TracebackType

    import httpx
    from typing_extensions import Self

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.infra import Cache
    from klaviyo_kit.operations import Operation
    from klaviyo_kit.resilience import CircuitBreaker, Hooks, RateLimiter, RetryPolicy
    from klaviyo_kit.sdk import Stage
    from klaviyo_kit.services import Call

__all__ = ["KlaviyoClient"]


class KlaviyoClient(BaseClient):
    """A Klaviyo client: services and the whole SDK behind one call pipeline, over httpx.

    Every collaborator is injected, and a default is built only when it is ``None``.

    Args:
        settings: Keys, URLs and options; ``None`` reads ``KLAVIYO_*`` from the environment.
        transport: An httpx transport to send through (the sandbox's ``transport()``,
            ``httpx.MockTransport``); ``None`` uses the network.
        http_client: A ready httpx client to send through instead; the caller keeps ownership.
        limiter: Paces calls per account and operation; ``None`` builds one from settings
            (in memory, or Redis with ``KLAVIYO_RATE_LIMIT__BACKEND=redis``).
        retry: The retry policy; ``None`` builds one from ``settings.retry``.
        breaker: The circuit breaker; ``None`` builds one from ``settings.breaker``.
        hooks: Extra observers of requests, retries, throttling and breaker changes.
        stages: Replace the whole pipeline (outermost first); ``None`` builds
            retry → limiter → breaker → hooks from the above.
        cache: The cache for lookups (metric ids, list names, segment membership);
            ``None`` builds one from the settings (a ``NullCache`` when caching is off).
        sleep: How to wait (polling, backoff, throttling); injectable for tests.

    Raises:
        ValueError: If both ``transport`` and ``http_client`` are given.

    Example:
        ```python
        from klaviyo_kit import KlaviyoClient

        with KlaviyoClient() as client:  # KLAVIYO_PRIVATE_KEY from the environment
            profile = client.profiles.upsert({"email": "ada@example.com"})
            page = client.sdk.lists.get_lists()  # any SDK operation, same pipeline
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
        stages: Sequence[Stage] | None = None,
        cache: Cache | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the client; the SDK itself is imported on first use."""
        super().__init__(
            settings,
            transport,
            http_client,
            cache=cache,
            limiter=limiter,
            retry=retry,
            breaker=breaker,
            hooks=hooks,
            sleep=sleep,
        )
        self.pipeline = Pipeline(self.resilience.stages() if stages is None else stages)
        self._sleep = sleep
        self._sdk = SdkApis(self._session.group, self._invoke)

    def _invoke(
        self,
        operation: Operation,
        fn: Callable[..., object],
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
    ) -> object:
        self._check_open()
        return self.pipeline.invoke(operation, fn, args, kwargs)

    def execute(self, call: Call) -> object:
        """Perform one SDK call described by a service flow, through the pipeline."""
        op, fn, args, kwargs = self._resolve(call)
        return self.pipeline.invoke(op, fn, args, kwargs)

    def sleep(self, seconds: float) -> None:
        """Wait with the injected sleep (used when polling jobs)."""
        self._sleep(seconds)

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(timezone.utc)

    def health(self, *, probe_klaviyo: bool = False) -> HealthReport:
        """Check the key, breaker, limiter backend, cache, event senders and, if asked, Klaviyo.

        Args:
            probe_klaviyo: Also make one ``get_accounts`` call (limited to 1/s and 15/min).

        Returns:
            The :class:`~klaviyo_kit.health.HealthReport`.
        """
        self._check_open()
        probe = self.sdk.accounts.get_accounts if probe_klaviyo else None
        events = self._services.get("events")
        return run_checks(
            breaker=self.resilience.breaker,
            limiter=self.resilience.limiter,
            cache=self.cache,
            probe=probe,
            private_key=self.settings.private_key is not None,
            senders=events.senders if isinstance(events, Events) else (),
        )

    @property
    def sdk(self) -> SdkApis:
        """Every SDK API group, lazily: ``client.sdk.profiles.get_profiles(...)``.

        Each method keeps the SDK's signature and runs through the pipeline; Klaviyo's and the
        transport's failures arrive as :mod:`klaviyo_kit.errors`. An argument the SDK rejects
        (``page_size=1000``, a wrong type) raises pydantic's ``ValidationError``, a
        ``ValueError``, before anything is sent: it is the caller's bug, not translated and not
        retried.

        Raises:
            RuntimeError: If the client is closed.
        """
        self._check_open()
        return self._sdk

    @property
    def profiles(self) -> Profiles:
        """Profiles: upsert, get, find by email, iterate, bulk import, sync."""
        return self._service("profiles", lambda: Profiles(self))

    @property
    def lists(self) -> Lists:
        """Lists: create, get, find by name, iterate, members, consent in bulk."""
        return self._service("lists", lambda: Lists(self))

    @property
    def segments(self) -> Segments:
        """Segments: iterate, get, iterate members, cached membership checks."""
        return self._service("segments", lambda: Segments(self))

    @property
    def campaigns(self) -> Campaigns:
        """Email campaigns: create, content, template, send, wait until sent, cancel."""
        return self._service("campaigns", lambda: Campaigns(self))

    @property
    def metrics(self) -> Metrics:
        """Metrics: iterate, get, cached id by name, daily counts and sums."""
        return self._service("metrics", lambda: Metrics(self))

    @property
    def events(self) -> Events:
        """Events: track one, track a purchase, track many in bulk, background sending."""
        return self._service("events", lambda: Events(self))

    def close(self) -> None:
        """Flush and stop background event senders, then close what the client built.

        That is the httpx client, and a Redis rate limiter or cache built from the settings;
        anything passed in (``http_client``, ``limiter``, ``cache``) stays open.

        Later calls raise ``RuntimeError``.
        """
        events = self._services.get("events")
        if isinstance(events, Events):
            events.close()
        self._close_owned()

    def __enter__(self) -> Self:
        """Use the client as a context manager that closes it on exit."""
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()
