"""Shared fakes: a clock whose sleeps move time forward instantly."""

from __future__ import annotations

import pytest


class FakeClock:
    """Monotonic time that advances only when someone sleeps (or the test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def max_in_window(times: list[tuple[float, int]], length: float) -> int:
    """Return the most permits any half-open interval ``[t, t + length)`` holds."""
    best = 0
    ordered = sorted(times)
    for i, (start, _) in enumerate(ordered):
        total = 0
        for when, cost in ordered[i:]:
            if when >= start + length:
                break
            total += cost
        best = max(best, total)
    return best


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def window_max():
    return max_in_window
