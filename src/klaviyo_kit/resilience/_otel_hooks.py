"""Hooks that trace Klaviyo calls with OpenTelemetry (the ``otel`` extra)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

from klaviyo_kit.resilience._hooks import BaseHooks

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from klaviyo_kit.resilience._hooks import (
        BreakerChange,
        RequestEnd,
        RequestStart,
        RetryScheduled,
        ThrottleWait,
    )

__all__ = ["OpenTelemetryHooks"]

_INSTALL: Final = "OpenTelemetryHooks needs opentelemetry-api: pip install 'klaviyo-kit[otel]'"


class OpenTelemetryHooks(BaseHooks):
    """Trace every Klaviyo call as one client span, and note waits on the current span.

    Each attempt becomes a span named ``klaviyo <operation>`` with the attributes
    ``klaviyo.operation``, ``klaviyo.attempt``, ``klaviyo.throttle_wait`` (seconds the limiter
    held it back), ``http.response.status_code`` and, on failure, ``error.type`` with an error
    status. Retries, rate-limit waits and breaker changes are added as span events to the span
    current in the caller (``klaviyo.retry``, ``klaviyo.throttle_wait``, ``klaviyo.breaker``).

    Args:
        tracer_provider: Where spans go (default: the global provider).

    Raises:
        ImportError: If ``opentelemetry-api`` is missing: ``pip install 'klaviyo-kit[otel]'``.

    Example:
        >>> from klaviyo_kit.resilience import OpenTelemetryHooks
        >>> hooks = OpenTelemetryHooks()
    """

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        """Get a tracer named ``klaviyo_kit`` from ``tracer_provider``."""
        try:
            from opentelemetry import trace  # noqa: PLC0415 - optional extra, imported on use
        except ImportError as exc:
            raise ImportError(_INSTALL) from exc
        self._trace = trace
        self._tracer: Tracer = trace.get_tracer("klaviyo_kit", tracer_provider=tracer_provider)
        self._spans: dict[int, Span] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Show how many spans are open."""
        return f"OpenTelemetryHooks(open_spans={len(self._spans)})"

    def on_request_start(self, event: RequestStart) -> None:
        """Start the attempt's span."""
        span = self._tracer.start_span(
            f"klaviyo {event.operation}",
            kind=self._trace.SpanKind.CLIENT,
            attributes={
                "klaviyo.operation": event.operation,
                "klaviyo.attempt": event.attempt,
                "klaviyo.throttle_wait": event.throttle_wait,
            },
        )
        with self._lock:
            self._spans[event.call_id] = span

    def on_request_end(self, event: RequestEnd) -> None:
        """End the attempt's span with its status."""
        with self._lock:
            span = self._spans.pop(event.call_id, None)
        if span is None:
            return
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
        if event.error is not None:
            span.set_attribute("error.type", event.error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, event.error))
        span.end()

    def on_retry(self, event: RetryScheduled) -> None:
        """Add a ``klaviyo.retry`` event to the current span."""
        self._trace.get_current_span().add_event(
            "klaviyo.retry",
            {
                "klaviyo.operation": event.operation,
                "klaviyo.attempt": event.attempt,
                "klaviyo.wait": event.wait,
                "error.type": event.error,
            },
        )

    def on_throttle_wait(self, event: ThrottleWait) -> None:
        """Add a ``klaviyo.throttle_wait`` event to the current span."""
        self._trace.get_current_span().add_event(
            "klaviyo.throttle_wait",
            {"klaviyo.operation": event.operation, "klaviyo.wait": event.wait},
        )

    def on_breaker_change(self, event: BreakerChange) -> None:
        """Add a ``klaviyo.breaker`` event to the current span."""
        self._trace.get_current_span().add_event(
            "klaviyo.breaker",
            {"klaviyo.breaker": event.name, "klaviyo.from": event.old, "klaviyo.to": event.new},
        )
