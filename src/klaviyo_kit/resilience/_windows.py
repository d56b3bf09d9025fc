"""Exact sliding-window accounting for one bucket, with no locks and no I/O.

A grant at time ``t`` counts against a window of length ``W`` while ``now < t + W``. Because every
interval of length ``W`` then holds at most the window's limit, each of Klaviyo's fixed windows
(whatever their alignment) does too, and a saturated stream still reaches the limit exactly.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.resilience._limiter import Window

__all__ = ["BucketState", "BucketTable"]

_EPSILON: Final = 1e-6
"""Added to every wait so a sleeper always wakes after the permit frees, despite float rounding."""


class _Log:
    """Grants inside one window: ``(time, cost)`` pairs, oldest first, and their sum."""

    __slots__ = ("entries", "length", "limit", "used")

    def __init__(self, length: float, limit: int) -> None:
        self.length = length
        self.limit = limit
        self.entries: deque[tuple[float, int]] = deque()
        self.used = 0

    def prune(self, now: float) -> None:
        entries = self.entries
        horizon = now - self.length
        while entries and entries[0][0] <= horizon:
            self.used -= entries.popleft()[1]

    def wait_for(self, now: float, cost: int) -> float:
        """Seconds until ``cost`` more permits fit (0 when they fit now); call after prune."""
        excess = self.used + cost - self.limit
        if excess <= 0:
            return 0.0
        freed = 0
        for when, taken in self.entries:
            freed += taken
            if freed >= excess:
                return when + self.length - now
        return self.length  # pragma: no cover - cost is checked against the limit up front


class BucketState:
    """The windows, pause and server cap of one account x operation bucket."""

    __slots__ = ("_cap", "_cap_until", "_logs", "_paused_until")

    def __init__(self, windows: tuple[Window, ...]) -> None:
        """Start with empty windows of these lengths and limits."""
        self._logs = tuple(_Log(w.length, w.limit) for w in windows)
        self._paused_until = float("-inf")
        self._cap = 0
        self._cap_until = float("-inf")

    def reconfigure(self, windows: tuple[Window, ...]) -> None:
        """Change the limits in place, keeping the grants already counted."""
        for log, window in zip(self._logs, windows, strict=True):
            log.limit = window.limit

    def limits(self) -> tuple[int, ...]:
        """Return the current limit of each window."""
        return tuple(log.limit for log in self._logs)

    def try_take(self, now: float, cost: int) -> float:
        """Take ``cost`` permits if every window allows it now.

        Returns:
            0.0 when granted (and recorded), else the seconds to wait before trying again.
        """
        wait = self._paused_until - now
        if self._cap_until > now and self._cap < cost:
            wait = max(wait, self._cap_until - now)
        for log in self._logs:
            log.prune(now)
            wait = max(wait, log.wait_for(now, cost))
        if wait > 0:
            return wait + _EPSILON
        for log in self._logs:
            log.entries.append((now, cost))
            log.used += cost
        if self._cap_until > now:
            self._cap -= cost
        return 0.0

    def pause(self, now: float, seconds: float) -> None:
        """Hold every call back for ``seconds`` (never shortening an existing pause)."""
        self._paused_until = max(self._paused_until, now + seconds)

    def cap(self, now: float, remaining: int, reset: float) -> None:
        """Allow at most ``remaining`` more permits until ``reset`` seconds from now."""
        if self._cap_until > now and self._cap <= remaining:
            return
        self._cap = remaining
        self._cap_until = now + reset


class BucketTable:
    """Every bucket of one account, behind one lock (held only for bookkeeping, never a sleep)."""

    __slots__ = ("_buckets", "_lock")

    def __init__(self) -> None:
        """Start with no buckets."""
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketState] = {}

    def __len__(self) -> int:
        """Return how many buckets are tracked."""
        return len(self._buckets)

    def take(
        self, bucket: str, windows: tuple[Window, ...], now: Callable[[], float], cost: int
    ) -> float:
        """Take ``cost`` permits from ``bucket`` (created or re-limited to ``windows``).

        Returns:
            0.0 when granted, else seconds to wait before trying again.
        """
        with self._lock:
            state = self._buckets.get(bucket)
            if state is None:
                state = self._buckets[bucket] = BucketState(windows)
            elif state.limits() != tuple(w.limit for w in windows):
                state.reconfigure(windows)
            return state.try_take(now(), cost)

    def pause(self, bucket: str, windows: tuple[Window, ...], now: float, seconds: float) -> None:
        """Pause ``bucket`` (creating it with ``windows`` if needed) for ``seconds``."""
        with self._lock:
            state = self._buckets.get(bucket)
            if state is None:
                state = self._buckets[bucket] = BucketState(windows)
            state.pause(now, seconds)

    def cap(self, bucket: str, now: float, remaining: int, reset: float) -> None:
        """Cap a known ``bucket`` when ``remaining`` is below its burst limit; else do nothing."""
        with self._lock:
            state = self._buckets.get(bucket)
            if state is not None and remaining < state.limits()[0]:
                state.cap(now, remaining, reset)
