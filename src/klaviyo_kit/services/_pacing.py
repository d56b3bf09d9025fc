"""Pacing the background sender's requests under Klaviyo's burst and steady windows."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.operations import Limits

__all__ = ["WindowPacer"]

_BURST_WINDOW: Final = 1.0
_STEADY_WINDOW: Final = 60.0


class WindowPacer:
    """Wait before each request so no 1 s window exceeds ``burst`` and no 60 s one ``steady``.

    The windows slide, so every fixed window Klaviyo counts in holds at most as many requests.
    A 429 can still come (other processes share the account's budget); :meth:`pause` then holds
    every request back for the ``Retry-After`` Klaviyo sent.

    Args:
        limits: The operation's burst and steady limits.
        clock: Monotonic seconds; inject a fake in tests.
        sleep: Waits; inject a fake in tests.
    """

    def __init__(
        self, limits: Limits, *, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        """Create a pacer with empty windows."""
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = float("-inf")
        self._lock = threading.Lock()

    def _wait_needed(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - _STEADY_WINDOW:
            self._sent.popleft()
        wait = self._paused_until - now
        if len(self._sent) >= self.limits.steady:
            wait = max(wait, self._sent[-self.limits.steady] + _STEADY_WINDOW - now)
        if len(self._sent) >= self.limits.burst:
            wait = max(wait, self._sent[-self.limits.burst] + _BURST_WINDOW - now)
        return wait

    def acquire(self) -> float:
        """Wait until one more request fits both windows, record it, and return the wait."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._sent.append(now)
                    return waited
                self._sleep(wait)
                waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (Klaviyo's ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))
