"""One call pipeline for every SDK operation.

A call runs through the stages in order, each wrapping the rest::

    retry ─▶ rate limiter ─▶ circuit breaker ─▶ (hooks) ─▶ SDK call + error translation

A stage is any callable ``stage(call, proceed)`` that calls ``proceed()`` zero or more times and
returns its result (or raises). The innermost step binds the call for the transport (which records
the response's status, headers and body on it), translates every SDK and httpx exception into the
kit's error tree and rejects a success answer that is not a JSON:API document
(``MalformedResponseError``), so every stage sees only :mod:`klaviyo_kit.errors`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar

from klaviyo_kit.sdk._context import OperationCall
from klaviyo_kit.sdk._translate import call_sdk

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from klaviyo_kit.operations import Operation

__all__ = ["AsyncPipeline", "AsyncStage", "Pipeline", "Stage"]

R = TypeVar("R")


class Stage(Protocol):
    """A step of the synchronous pipeline: run ``proceed()`` (or not) and return its result."""

    def __call__(self, call: OperationCall, proceed: Callable[[], R]) -> R:
        """Run the rest of the pipeline for ``call`` through ``proceed``."""


class AsyncStage(Protocol):
    """A step of the asynchronous pipeline: await ``proceed()`` (or not) and return its result."""

    async def __call__(self, call: OperationCall, proceed: Callable[[], Awaitable[R]]) -> R:
        """Run the rest of the pipeline for ``call`` through ``proceed``."""


class Pipeline:
    """Runs SDK calls through a fixed sequence of stages.

    Args:
        stages: Outermost first, e.g. ``(retry, limiter, breaker)``.
    """

    def __init__(self, stages: Sequence[Stage] = ()) -> None:
        """Build the pipeline from its stages."""
        self.stages: tuple[Stage, ...] = tuple(stages)

    def invoke(
        self,
        operation: Operation,
        fn: Callable[..., R],
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
    ) -> R:
        """Call ``fn(*args, **kwargs)``, the SDK method for ``operation``, through every stage.

        Args:
            operation: The operation the SDK method performs.
            fn: The SDK method.
            args: Positional arguments for ``fn``.
            kwargs: Keyword arguments for ``fn``.

        Returns:
            What the SDK method returns.

        Raises:
            klaviyo_kit.errors.KlaviyoError: Whatever the stages or Klaviyo decided.
        """
        call = OperationCall(operation=operation, args=args, kwargs=kwargs, attempt=1)

        def terminal() -> R:
            return call_sdk(call, fn, args, kwargs)

        handler: Callable[[], R] = terminal
        for stage in reversed(self.stages):
            handler = partial(stage, call, handler)
        return handler()


class AsyncPipeline:
    """The asynchronous twin of :class:`Pipeline`; the SDK call itself runs via ``run_sync``.

    Args:
        stages: Outermost first.
        run_sync: Runs a blocking callable without blocking the event loop (a thread pool).
    """

    def __init__(
        self,
        stages: Sequence[AsyncStage],
        run_sync: Callable[[Callable[[], object]], Awaitable[object]],
    ) -> None:
        """Build the pipeline from its stages and a way to run blocking calls."""
        self.stages: tuple[AsyncStage, ...] = tuple(stages)
        self._run_sync = run_sync

    async def invoke(
        self,
        operation: Operation,
        fn: Callable[..., R],
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
    ) -> R:
        """Await ``fn(*args, **kwargs)`` through every stage; see :meth:`Pipeline.invoke`."""
        call = OperationCall(operation=operation, args=args, kwargs=kwargs, attempt=1)

        def blocking() -> R:
            return call_sdk(call, fn, args, kwargs)

        async def terminal() -> R:
            return await self._run_sync(blocking)  # type: ignore[return-value]

        handler: Callable[[], Awaitable[R]] = terminal
        for stage in reversed(self.stages):
            handler = partial(stage, call, handler)
        return await handler()
