"""Service logic written once, as generators, and driven by a sync or an async runner.

A service method's logic is a *flow*: a generator that yields :class:`Call` (an SDK operation to
perform) or :class:`Sleep` instructions, receives each call's result (or has its exception thrown
in), and returns the method's result. :func:`run_flow` drives a flow with blocking I/O,
:func:`arun_flow` with ``await``; validation, request building, parsing, chunking and decisions
such as "a 409 means update instead" exist once, in the flow (httpx's ``Auth.auth_flow`` pattern).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Call", "Deadline", "Flow", "Sleep", "arun_flow", "run_flow"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call:
    """Perform one SDK operation: ``client.sdk.<group>.<method>(*args, **kwargs)``.

    With ``document``, the kit's own finished JSON:API body is sent for the operation instead
    (its method and path from the operation table) through the same pipeline, skipping the
    SDK's request models; ``args`` and ``kwargs`` must then be empty. With ``raw`` (and no
    document) the operation is sent the same way without a body, ``args`` filling the path's
    parameters in order: the answer is the decoded JSON and the SDK's API group (its models)
    is never loaded.

    Attributes:
        group: The SDK API group in snake case (``profiles``).
        method: The SDK method name (``create_or_update_profile``).
        args: Positional arguments.
        kwargs: Keyword arguments.
        document: A validated request body, encoded as UTF-8 JSON, or ``None``.
        raw: Send through the operation table even without a document.
    """

    group: str
    method: str
    args: tuple[object, ...] = ()
    kwargs: dict[str, object] = field(default_factory=dict)
    document: bytes | None = field(default=None, repr=False)
    raw: bool = False


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before continuing (polling a job), with the runner's injected sleep."""

    seconds: float


class Deadline:
    """The time budget of a polling flow: the pauses taken or the wall time, whichever is more.

    Counting pauses keeps a flow exact under an injected sleep that takes no time; the wall
    clock adds what the polls themselves took (throttling, retries), so a deadline holds in
    production too.

    Args:
        seconds: The budget.
        clock: Monotonic seconds; inject a fake in tests.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Start the budget now."""
        self.seconds = seconds
        self._clock = clock
        self._started = clock()
        self._paused = 0.0

    @property
    def spent(self) -> float:
        """Seconds used so far."""
        return max(self._paused, self._clock() - self._started)

    def pause(self, seconds: float) -> Sleep:
        """Return a :class:`Sleep` of ``seconds``, cut to the time left, and count it."""
        pause = max(min(seconds, self.seconds - self.spent), 0.0)
        self._paused += pause
        return Sleep(pause)


Step = Call | Sleep
Flow = Generator[Step, object, T]
"""A service flow: yields steps, receives results, returns the method's result."""


def run_flow(
    flow: Flow[T],
    execute: Callable[[Call], object],
    sleep: Callable[[float], None],
) -> T:
    """Drive ``flow`` to completion with blocking I/O.

    Args:
        flow: The generator to drive.
        execute: Performs one SDK call (through the client's pipeline).
        sleep: Waits the given seconds.

    Returns:
        The flow's return value.

    Raises:
        klaviyo_kit.errors.KlaviyoError: Whatever the flow lets escape.
    """
    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Sleep):
                    sleep(step.seconds)
                    result: object = None
                else:
                    result = execute(step)
            except Exception as exc:  # noqa: BLE001, PERF203 - the flow decides what to do
                step = flow.throw(exc)
            else:
                step = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def arun_flow(
    flow: Flow[T],
    execute: Callable[[Call], Awaitable[object]],
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """Drive ``flow`` to completion with ``await``; the async twin of :func:`run_flow`.

    Args:
        flow: The generator to drive.
        execute: Performs one SDK call (through the async client's pipeline).
        sleep: Waits the given seconds without blocking the event loop.

    Returns:
        The flow's return value.

    Raises:
        klaviyo_kit.errors.KlaviyoError: Whatever the flow lets escape.
    """
    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Sleep):
                    await sleep(step.seconds)
                    result: object = None
                else:
                    result = await execute(step)
            except Exception as exc:  # noqa: BLE001, PERF203 - the flow decides what to do
                step = flow.throw(exc)
            else:
                step = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()
