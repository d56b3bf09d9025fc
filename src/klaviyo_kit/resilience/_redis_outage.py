"""What a Redis-backed limiter does while Redis is unreachable: fail open or fail closed."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Literal

from klaviyo_kit.errors import ConnectError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Outage"]

_log = logging.getLogger("klaviyo_kit")


class Outage:
    """Track Redis outages for one limiter and apply the ``on_unavailable`` policy."""

    __slots__ = ("_clock", "_down_until", "_lock", "mode", "retry_after", "where")

    def __init__(
        self,
        mode: Literal["open", "closed"],
        retry_after: float,
        where: str,
        clock: Callable[[], float],
    ) -> None:
        """Apply ``mode`` to Redis at ``where`` (host:port, never a password)."""
        if mode not in {"open", "closed"}:
            msg = f"on_unavailable must be 'open' or 'closed', got {mode!r}"
            raise ValueError(msg)
        self.mode = mode
        self.retry_after = retry_after
        self.where = where
        self._clock = clock
        self._down_until = float("-inf")
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """Whether Redis failed recently enough that it is not tried yet (fail-open only)."""
        return self._clock() < self._down_until

    def failed(self, exc: BaseException) -> None:
        """Record that Redis could not be reached.

        Raises:
            klaviyo_kit.errors.ConnectError: In ``closed`` mode.
        """
        if self.mode == "closed":
            msg = f"rate limiter: Redis at {self.where} is unreachable ({type(exc).__name__})"
            raise ConnectError(msg) from exc
        with self._lock:
            if self.down:
                return
            self._down_until = self._clock() + self.retry_after
        _log.warning(
            "klaviyo_kit rate limiter: Redis at %s is unreachable (%s); pacing in this process "
            "only for %.0f s",
            self.where,
            type(exc).__name__,
            self.retry_after,
        )
