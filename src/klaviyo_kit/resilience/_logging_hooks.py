"""Hooks that write to ``logging.getLogger("klaviyo_kit")`` (never configured by the library)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from klaviyo_kit.resilience._hooks import BaseHooks

if TYPE_CHECKING:
    from klaviyo_kit.resilience._hooks import (
        BreakerChange,
        RequestEnd,
        RequestStart,
        RetryScheduled,
        ThrottleWait,
    )

__all__ = ["LoggingHooks"]


class LoggingHooks(BaseHooks):
    """Log what the pipeline does; events carry no secrets, so no record holds a key.

    Attempts are logged at ``DEBUG``, waits and retries at ``INFO``, a circuit opening at
    ``WARNING``. Each record has ``klaviyo_operation`` (or ``klaviyo_breaker``) in ``extra`` for
    structured handlers. The library adds no handler and sets no level: configure logging in
    your application.

    Args:
        logger: Where to log (default ``logging.getLogger("klaviyo_kit")``).

    Example:
        >>> import logging
        >>> from klaviyo_kit.resilience import LoggingHooks, ThrottleWait
        >>> hooks = LoggingHooks(logging.getLogger("my.app"))
        >>> hooks.on_throttle_wait(ThrottleWait("get_lists", 0.2))
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        """Log to ``logger``, by default the ``klaviyo_kit`` logger."""
        self.logger = logger or logging.getLogger("klaviyo_kit")

    def __repr__(self) -> str:
        """Show the logger's name."""
        return f"LoggingHooks(logger={self.logger.name!r})"

    def on_request_start(self, event: RequestStart) -> None:
        """Log an attempt about to be sent (``DEBUG``)."""
        self.logger.debug(
            "klaviyo %s attempt %d starting (throttled %.3fs)",
            event.operation,
            event.attempt,
            event.throttle_wait,
            extra={"klaviyo_operation": event.operation},
        )

    def on_request_end(self, event: RequestEnd) -> None:
        """Log a finished attempt (``DEBUG``)."""
        self.logger.debug(
            "klaviyo %s attempt %d finished: %s in %.3fs",
            event.operation,
            event.attempt,
            event.error or event.status,
            event.duration,
            extra={"klaviyo_operation": event.operation},
        )

    def on_retry(self, event: RetryScheduled) -> None:
        """Log a scheduled retry (``INFO``)."""
        self.logger.info(
            "klaviyo %s attempt %d failed with %s%s; retrying in %.2fs",
            event.operation,
            event.attempt,
            event.error,
            f" ({event.status})" if event.status is not None else "",
            event.wait,
            extra={"klaviyo_operation": event.operation},
        )

    def on_throttle_wait(self, event: ThrottleWait) -> None:
        """Log a rate-limit wait (``INFO``)."""
        self.logger.info(
            "klaviyo %s waited %.3fs for %d rate-limit permit(s)",
            event.operation,
            event.wait,
            event.cost,
            extra={"klaviyo_operation": event.operation},
        )

    def on_breaker_change(self, event: BreakerChange) -> None:
        """Log a circuit-breaker change (``WARNING`` when it opens, else ``INFO``)."""
        level = logging.WARNING if event.new == "open" else logging.INFO
        self.logger.log(
            level,
            "klaviyo circuit breaker %r: %s -> %s after %d consecutive failure(s)",
            event.name,
            event.old,
            event.new,
            event.failures,
            extra={"klaviyo_breaker": event.name},
        )
