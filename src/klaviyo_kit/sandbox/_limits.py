"""Klaviyo's fixed 1-second and 60-second windows, counted per operation bucket."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.operations import Limits

BURST_WINDOW = 1.0
STEADY_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of counting one request.

    Attributes:
        allowed: Whether the request fits in both windows.
        retry_after: Real seconds until the full window resets (0 when allowed).
        limit: The steady window's limit.
        remaining: Requests left in the steady window after this one.
        reset: Real seconds until the steady window resets.
    """

    allowed: bool
    retry_after: float
    limit: int
    remaining: int
    reset: float


class WindowCounter:
    """Fixed-window counters with an injected clock; ``time_scale`` shortens both windows."""

    def __init__(self, clock: Callable[[], float], *, time_scale: float = 1.0) -> None:
        """Count against ``clock`` (epoch seconds); a window lasts ``length / time_scale``."""
        if time_scale <= 0:
            msg = f"time_scale must be positive, got {time_scale}"
            raise ValueError(msg)
        self._clock = clock
        self._scale = time_scale
        self._counts: dict[tuple[str, float], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def _window(self, key: tuple[str, float], now: float) -> tuple[int, int, float]:
        length = key[1] / self._scale
        index = math.floor(now / length)
        stored_index, count = self._counts.get(key, (index, 0))
        if stored_index != index:
            count = 0
        return index, count, (index + 1) * length - now

    def take(self, bucket: str, limits: Limits) -> Verdict:
        """Count one request in ``bucket`` unless either window is full."""
        with self._lock:
            now = self._clock()
            burst_key, steady_key = (bucket, BURST_WINDOW), (bucket, STEADY_WINDOW)
            b_index, b_count, b_reset = self._window(burst_key, now)
            s_index, s_count, s_reset = self._window(steady_key, now)
            waits = []
            if b_count >= limits.burst:
                waits.append(b_reset)
            if s_count >= limits.steady:
                waits.append(s_reset)
            if waits:
                return Verdict(
                    allowed=False,
                    retry_after=max(waits),
                    limit=limits.steady,
                    remaining=0,
                    reset=s_reset,
                )
            self._counts[burst_key] = (b_index, b_count + 1)
            self._counts[steady_key] = (s_index, s_count + 1)
            return Verdict(
                allowed=True,
                retry_after=0.0,
                limit=limits.steady,
                remaining=limits.steady - s_count - 1,
                reset=s_reset,
            )


def seconds_header(seconds: float, time_scale: float) -> str:
    """Format a wait for ``Retry-After``/``RateLimit-Reset``.

    At Klaviyo's own pace the value is a whole number of seconds, rounded up, as Klaviyo sends
    it. With a faster ``time_scale`` whole seconds would stretch the waits out of proportion, so
    the value keeps millisecond precision.
    """
    if time_scale == 1:
        return str(max(1, math.ceil(seconds - 1e-9)))
    return f"{max(0.001, math.ceil(seconds * 1000) / 1000):g}"
