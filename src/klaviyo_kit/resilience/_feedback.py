"""What a response tells a rate limiter: a 429 pause, or how much of the window is left."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import parse_retry_after

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Feedback"]

_NO_HINT_PAUSE: Final = 1.0
"""Seconds a 429 without ``Retry-After`` or a body hint pauses its bucket."""


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a response tells the limiter.

    Attributes:
        pause: Seconds the whole bucket must wait (a 429), or ``None``.
        remaining: Klaviyo's ``RateLimit-Remaining`` for the steady window, or ``None``.
        reset: Klaviyo's ``RateLimit-Reset`` (seconds until that window resets), or ``None``.
    """

    pause: float | None = None
    remaining: int | None = None
    reset: float | None = None

    @classmethod
    def from_response(
        cls, status: int, headers: Mapping[str, str], retry_after: float | None
    ) -> Feedback:
        """Read the feedback out of a response's status and headers."""
        if status == 429:  # noqa: PLR2004 - Too Many Requests
            if retry_after is None:
                retry_after = parse_retry_after(headers)
            return cls(pause=_NO_HINT_PAUSE if retry_after is None else max(0.0, retry_after))
        remaining = _number(_header(headers, "ratelimit-remaining"))
        reset = _number(_header(headers, "ratelimit-reset"))
        if remaining is None or reset is None or status >= 400:  # noqa: PLR2004
            return cls()
        return cls(remaining=max(0, int(remaining)), reset=max(0.0, reset))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
