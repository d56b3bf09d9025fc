"""Pacing the background sender's requests under Klaviyo's burst and steady windows."""

from __future__ import annotations

import threading
import time
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
        sleep: Waits in :meth:`acquire`; inject a fake in tests.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
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

    def try_acquire(self) -> float:
        """Record one more request if it fits both windows now (``0.0``), else return the wait.

        The non-blocking half of :meth:`acquire`, for a caller that waits on its own (an
        event loop): wait the returned seconds, then try again.
        """
        with self._lock:
            now = self._clock()
            wait = self._wait_needed(now)
            if wait <= 0:
                self._sent.append(now)
                return 0.0
            return wait

    def acquire(self) -> float:
        """Wait until one more request fits both windows, record it, and return the wait."""
        waited = 0.0
        while (wait := self.try_acquire()) > 0:
            self._sleep(wait)
            waited += wait
        return waited

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (Klaviyo's ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))
