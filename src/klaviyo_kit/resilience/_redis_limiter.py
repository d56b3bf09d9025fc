"""The shared rate limiter: one atomic Lua script per permit, Redis's clock, hash-tagged keys."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Final, Literal

import anyio

from klaviyo_kit.config import RateLimitSettings
from klaviyo_kit.errors import ConnectError
from klaviyo_kit.resilience._feedback import Feedback
from klaviyo_kit.resilience._hooks import Hooks, ThrottleWait, combine_hooks
from klaviyo_kit.resilience._limiter import BucketResolver, async_wait_loop, wait_loop
from klaviyo_kit.resilience._redis_outage import Outage
from klaviyo_kit.resilience._redis_scripts import FEEDBACK, TAKE
from klaviyo_kit.resilience._windows import BucketTable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    import redis
    import redis.asyncio
    from redis.commands.core import AsyncScript

    from klaviyo_kit.operations import Limits
    from klaviyo_kit.resilience._limiter import Window

__all__ = ["RedisRateLimiter"]

_log = logging.getLogger("klaviyo_kit")
_INSTALL: Final = "RedisRateLimiter needs redis: pip install 'klaviyo-kit[redis]'"


def _import_redis() -> tuple[type[BaseException], ...]:
    try:
        import redis.exceptions  # noqa: PLC0415 - optional extra, imported on use
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisRateLimiter:
    """Rate limiter whose budget is shared by every process and machine using one Redis.

    One Lua script checks every window of a bucket and takes the permits atomically, reading
    Redis's ``TIME`` as the only clock, and answers how long to wait otherwise. Keys look like
    ``{key_prefix}{<account>:<bucket>}:burst``: the hash tag keeps a bucket's keys on one Redis
    Cluster slot. Windows are exact sliding logs (sorted sets), as in
    :class:`~klaviyo_kit.resilience.MemoryRateLimiter`, and a 429 pauses the bucket for every
    process.

    When Redis is unreachable (connection refused, timeout), ``on_unavailable`` decides:

    * ``"open"`` (the default): pace with an in-process limiter, log a warning, and try Redis again
      after ``retry_unavailable_after`` seconds. Calls keep flowing; several processes may then
      together exceed the budget until Redis is back.
    * ``"closed"``: raise :class:`~klaviyo_kit.errors.ConnectError`; no call goes unpaced.

    Args:
        account: The account the budget belongs to (``KlaviyoSettings.account_fingerprint``),
            never the key itself.
        settings: Overrides, headroom, ``max_wait``, ``redis_url`` and ``on_unavailable``.
        url: Redis URL; defaults to ``settings.redis_url``. Ignored when ``client`` is given.
        client: A ready ``redis.Redis`` client (it is not closed by :meth:`close`).
        async_client: A ready ``redis.asyncio.Redis`` for :meth:`aacquire`; by default one is
            made from ``url``, or the sync client is used from a worker thread.
        key_prefix: Prefix of every key (no braces).
        on_unavailable: ``"open"`` or ``"closed"``, see above; ``None`` uses
            ``settings.on_unavailable`` (``KLAVIYO_RATE_LIMIT__ON_UNAVAILABLE``, default open).
        retry_unavailable_after: Seconds to stay on the in-process limiter after a failure.
        clock: Monotonic seconds for deadlines (default :func:`time.monotonic`).
        sleep: Blocking sleep (default :func:`time.sleep`).
        asleep: Async sleep (default :func:`asyncio.sleep`).
        burst_window: Length of the burst window in seconds (Klaviyo's is 1.0).
        steady_window: Length of the steady window in seconds (Klaviyo's is 60.0).
        hooks: Told about every wait (``on_throttle_wait``).

    Raises:
        ImportError: If the ``redis`` extra is not installed.
        ValueError: If an option is out of range.

    Example:
        >>> from klaviyo_kit.resilience import RedisRateLimiter
        >>> limiter = RedisRateLimiter("abc123", url="redis://127.0.0.1:6379/0")  # doctest: +SKIP
        >>> limiter.acquire("create_event")  # doctest: +SKIP
        0.0
    """

    def __init__(
        self,
        account: str = "default",
        settings: RateLimitSettings | None = None,
        *,
        url: str | None = None,
        client: redis.Redis | None = None,
        async_client: redis.asyncio.Redis | None = None,
        key_prefix: str = "klaviyo_kit:rl:",
        on_unavailable: Literal["open", "closed"] | None = None,
        retry_unavailable_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        asleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        burst_window: float = 1.0,
        steady_window: float = 60.0,
        hooks: Hooks | None = None,
    ) -> None:
        """Connect lazily to Redis and prepare the scripts."""
        self._errors = _import_redis()
        import redis as redis_mod  # noqa: PLC0415 - optional extra, imported on use

        if "{" in key_prefix + account or "}" in key_prefix + account:
            msg = "key_prefix and account must not contain braces (they are the hash tag)"
            raise ValueError(msg)
        self.account = account
        self.settings = settings or RateLimitSettings()
        self._resolver = BucketResolver(self.settings, burst_window, steady_window)
        self._url = None if client is not None else (url or self.settings.redis_url)
        self._owns_client = client is None
        self._client: redis.Redis = client or redis_mod.Redis.from_url(
            self._url or "", socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._async_client = async_client
        self._atake: AsyncScript | None = None
        self._owns_async = async_client is None and self._url is not None
        self._take = self._client.register_script(TAKE)
        self._feedback = self._client.register_script(FEEDBACK)
        self._key_prefix = key_prefix
        kwargs = self._client.connection_pool.connection_kwargs
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        mode = self.settings.on_unavailable if on_unavailable is None else on_unavailable
        self._outage = Outage(mode, retry_unavailable_after, where, clock)
        self._clock = clock
        self._sleep = sleep
        self._asleep = asleep
        self._hooks = combine_hooks(hooks)
        self._fallback = BucketTable()
        self._members = itertools.count()
        self._member_prefix = os.urandom(6).hex()

    def ping(self) -> None:
        """Check that Redis answers (for health checks).

        Raises:
            klaviyo_kit.errors.ConnectError: If Redis cannot be reached.
        """
        try:
            self._client.ping()
        except self._errors as exc:
            msg = f"Redis at {self._outage.where} is unreachable: {type(exc).__name__}"
            raise ConnectError(msg) from exc

    def __repr__(self) -> str:
        """Show the account, where Redis is and the failure mode (never a password)."""
        return (
            f"RedisRateLimiter(account={self.account!r}, redis={self._outage.where!r}, "
            f"on_unavailable={self._outage.mode!r})"
        )

    def acquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        """Block until ``cost`` permits for ``operation`` are granted across all processes.

        Args:
            operation: An SDK operation name or a bucket name.
            cost: Permits the call takes (bulk calls may weigh more than 1).
            limits: Limits to enforce instead of the table's (and the settings' overrides).
            deadline: Most seconds to wait, from now; ``None`` uses the settings' ``max_wait``.

        Returns:
            Seconds waited.

        Raises:
            klaviyo_kit.errors.RateLimitTimeoutError: If the wait would pass the deadline.
            klaviyo_kit.errors.ConnectError: If Redis is unreachable and ``on_unavailable`` is
                ``"closed"``.
            ValueError: If ``cost`` exceeds a window's limit.
            KeyError: If ``operation`` is unknown and no ``limits`` are given.
        """
        bucket, windows = self._resolver.resolve(operation, cost, limits)
        keys = self._keys(bucket)

        def take() -> float:
            if self._outage.down:
                return self._fallback.take(bucket, windows, self._clock, cost)
            try:
                return _seconds(self._take(keys=keys, args=self._args(cost, windows)))
            except self._errors as exc:
                self._outage.failed(exc)
                return self._fallback.take(bucket, windows, self._clock, cost)

        waited = wait_loop(
            operation,
            take,
            clock=self._clock,
            sleep=self._sleep,
            deadline=self.settings.max_wait if deadline is None else deadline,
        )
        self._report(bucket, waited, cost)
        return waited

    async def aacquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        """Wait without blocking the event loop; otherwise like :meth:`acquire`.

        Raises:
            klaviyo_kit.errors.RateLimitTimeoutError: If the wait would pass the deadline.
            klaviyo_kit.errors.ConnectError: If Redis is unreachable and ``on_unavailable`` is
                ``"closed"``.
            ValueError: If ``cost`` exceeds a window's limit.
            KeyError: If ``operation`` is unknown and no ``limits`` are given.
        """
        bucket, windows = self._resolver.resolve(operation, cost, limits)
        keys = self._keys(bucket)
        script = self._async_script()

        async def take() -> float:
            if self._outage.down:
                return self._fallback.take(bucket, windows, self._clock, cost)
            args = self._args(cost, windows)
            try:
                if script is None:
                    raw = await anyio.to_thread.run_sync(lambda: self._take(keys=keys, args=args))
                else:
                    raw = await script(keys=keys, args=args)
            except self._errors as exc:
                self._outage.failed(exc)
                return self._fallback.take(bucket, windows, self._clock, cost)
            return _seconds(raw)

        waited = await async_wait_loop(
            operation,
            take,
            clock=self._clock,
            sleep=self._asleep,
            deadline=self.settings.max_wait if deadline is None else deadline,
        )
        self._report(bucket, waited, cost)
        return waited

    def observe(
        self,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        *,
        retry_after: float | None = None,
    ) -> None:
        """Share what a response says with every process: a 429 pause, a low remaining count.

        Args:
            operation: The operation the response belongs to.
            status: The HTTP status.
            headers: The response headers (looked up case-insensitively).
            retry_after: Seconds Klaviyo asked to wait on a 429, if already parsed.
        """
        feedback = Feedback.from_response(status, headers, retry_after)
        bucket, windows = self._resolver.known(operation)
        keys = self._keys(bucket)
        args: list[str | int]
        if feedback.pause is not None:
            key, args = keys[-2], ["pause", _millis(feedback.pause), 0]
        elif feedback.remaining is not None and feedback.reset is not None:
            if windows is None or feedback.remaining >= windows[0].limit:
                return
            key, args = keys[-1], ["cap", _millis(feedback.reset), feedback.remaining]
        else:
            return
        try:
            self._feedback(keys=[key], args=args)
        except self._errors as exc:
            _log.warning(
                "klaviyo_kit rate limiter could not share feedback: %s", type(exc).__name__
            )
            if windows is None:
                return
            if feedback.pause is not None:
                self._fallback.pause(bucket, windows, self._clock(), feedback.pause)
            elif feedback.remaining is not None and feedback.reset is not None:
                self._fallback.cap(bucket, self._clock(), feedback.remaining, feedback.reset)

    def close(self) -> None:
        """Close the Redis connections this limiter opened (not those it was given)."""
        if self._owns_client:
            self._client.close()

    async def aclose(self) -> None:
        """Close the async and sync Redis connections this limiter opened."""
        if self._owns_async and self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None
            self._atake = None
        self.close()

    def _keys(self, bucket: str) -> list[str]:
        base = f"{self._key_prefix}{{{self.account}:{bucket}}}"
        return [f"{base}:burst", f"{base}:steady", f"{base}:pause", f"{base}:cap"]

    def _args(self, cost: int, windows: tuple[Window, ...]) -> list[str | int]:
        args: list[str | int] = [cost, f"{self._member_prefix}:{next(self._members)}", len(windows)]
        for window in windows:
            args.extend((round(window.length * 1_000_000), window.limit))
        return args

    def _async_script(self) -> AsyncScript | None:
        if self._async_client is None and self._url is not None:
            import redis.asyncio as aioredis  # noqa: PLC0415 - optional extra, imported on use

            self._async_client = aioredis.Redis.from_url(
                self._url, socket_timeout=2.0, socket_connect_timeout=2.0
            )
            self._atake = None
        if self._async_client is None:
            return None
        if self._atake is None:
            self._atake = self._async_client.register_script(TAKE)
        return self._atake

    def _report(self, bucket: str, waited: float, cost: int) -> None:
        if waited > 0:
            self._hooks.on_throttle_wait(ThrottleWait(bucket, waited, cost))


def _seconds(raw: object) -> float:
    if not isinstance(raw, int):  # pragma: no cover - the script always answers an integer
        msg = f"unexpected reply from the rate-limit script: {raw!r}"
        raise TypeError(msg)
    return raw / 1_000_000


def _millis(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
