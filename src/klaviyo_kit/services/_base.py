"""What every service shares: the runner it drives flows with, and page iteration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from klaviyo_kit.services._flow import Call, Flow, arun_flow, run_flow

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from klaviyo_kit.config import KlaviyoSettings

__all__ = ["AsyncRunner", "AsyncService", "Page", "Runner", "SyncService"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: its items and the cursor of the next page (``None`` when last)."""

    items: list[T]
    next_cursor: str | None


class Runner(Protocol):
    """How a synchronous service reaches Klaviyo (implemented by ``KlaviyoClient``)."""

    settings: KlaviyoSettings

    def execute(self, call: Call) -> object:
        """Perform one SDK call through the client's pipeline."""

    def sleep(self, seconds: float) -> None:
        """Wait (injectable, for tests)."""


class AsyncRunner(Protocol):
    """How an asynchronous service reaches Klaviyo (implemented by ``AsyncKlaviyoClient``)."""

    settings: KlaviyoSettings

    def aexecute(self, call: Call) -> Awaitable[object]:
        """Perform one SDK call through the async client's pipeline."""

    def asleep(self, seconds: float) -> Awaitable[None]:
        """Wait without blocking the event loop."""


class SyncService:
    """Base of the synchronous services: drives flows with blocking I/O."""

    def __init__(self, runner: Runner) -> None:
        """Bind the service to the client that runs its calls."""
        self._runner = runner

    def _run(self, flow: Flow[T]) -> T:
        return run_flow(flow, self._runner.execute, self._runner.sleep)

    def _iterate(self, page: Callable[[str | None], Flow[Page[T]]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            current = self._run(page(cursor))
            yield from current.items
            if not current.next_cursor:
                return
            cursor = current.next_cursor


class AsyncService:
    """Base of the asynchronous services: drives the same flows with ``await``."""

    def __init__(self, runner: AsyncRunner) -> None:
        """Bind the service to the async client that runs its calls."""
        self._runner = runner

    async def _run(self, flow: Flow[T]) -> T:
        return await arun_flow(flow, self._runner.aexecute, self._runner.asleep)

    async def _iterate(self, page: Callable[[str | None], Flow[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            current = await self._run(page(cursor))
            for item in current.items:
                yield item
            if not current.next_cursor:
                return
            cursor = current.next_cursor
