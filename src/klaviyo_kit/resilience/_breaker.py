"""A circuit breaker: stop calling Klaviyo for a while after repeated outages."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from klaviyo_kit.config import BreakerSettings
from klaviyo_kit.errors import CircuitOpenError, KlaviyoError, ServerError, TransportError
from klaviyo_kit.resilience._hooks import BreakerChange, BreakerState, Hooks, combine_hooks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["BreakerSnapshot", "CircuitBreaker"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The breaker's state at one moment, for health checks.

    Attributes:
        name: The breaker's name.
        state: ``closed`` (calls flow), ``open`` (calls fail fast) or ``half_open`` (one trial
            call may go).
        consecutive_failures: Transport/5xx failures since the last success.
        failure_threshold: Consecutive failures that open the circuit.
        retry_in: Seconds until an open circuit half-opens (0 unless open).
    """

    name: str
    state: BreakerState
    consecutive_failures: int
    failure_threshold: int
    retry_in: float

    @property
    def healthy(self) -> bool:
        """Whether calls flow normally (the circuit is closed)."""
        return self.state == "closed"


class CircuitBreaker:
    """Fail fast while Klaviyo is down instead of piling up timeouts.

    ``failure_threshold`` consecutive failures (:class:`~klaviyo_kit.errors.TransportError` or
    :class:`~klaviyo_kit.errors.ServerError`) open the circuit: calls then raise
    :class:`~klaviyo_kit.errors.CircuitOpenError` without running. After ``cool_down`` seconds
    it half-opens and lets one trial call through; its success closes the circuit, its failure
    opens it again. Any other outcome (a result, a 4xx, a 429) counts as success: Klaviyo
    answered. An exception outside the kit's error tree (the caller's bug, such as pydantic's
    ``ValidationError`` raised before sending, or a cancellation) counts as neither: a
    half-open circuit stays half-open. Thread-safe and asyncio-safe.

    Args:
        failure_threshold: Consecutive failures that open the circuit.
        cool_down: Seconds the circuit stays open before a trial call.
        name: Shown in errors, logs and health checks.
        clock: Monotonic seconds (default :func:`time.monotonic`).
        hooks: Told about every state change (``on_breaker_change``).

    Raises:
        ValueError: If an option is out of range.

    Example:
        >>> from klaviyo_kit.resilience import CircuitBreaker
        >>> breaker = CircuitBreaker(failure_threshold=3, cool_down=10)
        >>> breaker.call(lambda: 42), breaker.state
        (42, 'closed')
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down: float = 30.0,
        name: str = "klaviyo",
        clock: Callable[[], float] = time.monotonic,
        hooks: Hooks | None = None,
    ) -> None:
        """Create a closed breaker."""
        if not failure_threshold >= 1:
            msg = f"failure_threshold must be >= 1, got {failure_threshold!r}"
            raise ValueError(msg)
        if not cool_down > 0:  # "not >" also refuses nan
            msg = f"cool_down must be > 0, got {cool_down!r}"
            raise ValueError(msg)
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self.name = name
        self._clock = clock
        self._hooks = combine_hooks(hooks)
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False
        self._changes: list[BreakerChange] = []

    @classmethod
    def from_settings(
        cls,
        settings: BreakerSettings | None = None,
        *,
        name: str = "klaviyo",
        clock: Callable[[], float] = time.monotonic,
        hooks: Hooks | None = None,
    ) -> CircuitBreaker:
        """Build a breaker from :class:`~klaviyo_kit.config.BreakerSettings`.

        Args:
            settings: The breaker settings (``KLAVIYO_BREAKER__*``); ``None`` uses the defaults.
            name: Shown in errors, logs and health checks.
            clock: Monotonic seconds.
            hooks: Told about every state change.

        Returns:
            The breaker.
        """
        s = settings or BreakerSettings()
        return cls(
            failure_threshold=s.failure_threshold,
            cool_down=s.cool_down,
            name=name,
            clock=clock,
            hooks=hooks,
        )

    def __repr__(self) -> str:
        """Show the name and the current state."""
        return f"CircuitBreaker(name={self.name!r}, state={self.state!r})"

    @property
    def state(self) -> BreakerState:
        """The current state: ``closed``, ``open`` or ``half_open``."""
        with self._lock:
            state = self._current()
        self._emit()
        return state

    def snapshot(self) -> BreakerSnapshot:
        """Return the state, failure count and time to half-open, for health checks."""
        with self._lock:
            state = self._current()
            retry_in = (
                max(0.0, self._opened_at + self.cool_down - self._clock())
                if state == "open"
                else 0.0
            )
            snapshot = BreakerSnapshot(
                self.name, state, self._failures, self.failure_threshold, retry_in
            )
        self._emit()
        return snapshot

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` unless the circuit is open.

        Args:
            fn: The call to protect.

        Returns:
            What ``fn`` returned.

        Raises:
            klaviyo_kit.errors.CircuitOpenError: If the circuit is open (or a trial call is
                already running while half-open).
        """
        trial = self._before()
        try:
            result = fn()
        except BaseException as exc:
            self._after(trial, exc)
            raise
        self._after(trial, None)
        return result

    async def acall(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Await ``fn`` unless the circuit is open; otherwise like :meth:`call`.

        Raises:
            klaviyo_kit.errors.CircuitOpenError: If the circuit is open.
        """
        trial = self._before()
        try:
            result = await fn()
        except BaseException as exc:
            self._after(trial, exc)
            raise
        self._after(trial, None)
        return result

    def reset(self) -> None:
        """Close the circuit and forget the failures (for operators and tests)."""
        with self._lock:
            self._failures = 0
            self._trial_running = False
            self._move("closed")
        self._emit()

    def _current(self) -> BreakerState:
        if self._state == "open" and self._clock() >= self._opened_at + self.cool_down:
            self._move("half_open")
        return self._state

    def _before(self) -> bool:
        with self._lock:
            state = self._current()
            trial = state == "half_open" and not self._trial_running
            if trial:
                self._trial_running = True
            failures = self._failures
            retry_in = max(0.0, self._opened_at + self.cool_down - self._clock())
        self._emit()
        if state == "closed" or trial:
            return trial
        msg = (
            f"circuit breaker {self.name!r} is {state.replace('_', '-')} after "
            f"{failures} consecutive failures; failing fast"
        )
        raise CircuitOpenError(msg, retry_in=retry_in if state == "open" else 0.0)

    def _after(self, trial: bool, error: BaseException | None) -> None:  # noqa: FBT001
        with self._lock:
            if trial:
                self._trial_running = False
            if error is not None and not isinstance(error, KlaviyoError):
                return  # a caller's bug, cancelled or interrupted: says nothing about Klaviyo
            if isinstance(error, (TransportError, ServerError)):
                self._failures += 1
                if trial or (self._state == "closed" and self._failures >= self.failure_threshold):
                    self._opened_at = self._clock()
                    self._move("open")
            else:
                self._failures = 0
                if trial or self._state != "closed":
                    self._move("closed")
        self._emit()

    def _move(self, new: BreakerState) -> None:
        """Change state (under the lock); hooks hear of it in :meth:`_emit`, after the lock."""
        old = self._state
        if old != new:
            self._state = new
            self._changes.append(BreakerChange(self.name, old, new, self._failures))

    def _emit(self) -> None:
        with self._lock:
            changes, self._changes = self._changes, []
        for change in changes:
            self._hooks.on_breaker_change(change)
