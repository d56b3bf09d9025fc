"""Fixtures: a sync or async client on an in-process sandbox, driven by one shared test body.

Each test is written once as ``async def`` and runs twice: ``kit`` is parametrised over the
synchronous and the asynchronous client, and ``await kit(...)`` awaits only what needs it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.infra import Cache

KEY = "pk_" + "a" * 34


class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and remembers ``(method, path)`` of each."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.inner = sandbox.transport()
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def count(self, method: str, path: str) -> int:
        return sum(1 for seen in self.seen if seen == (method, path))


@dataclass
class Kit:
    """One client (sync or async) on a sandbox."""

    mode: str
    sandbox: Sandbox
    client: Any
    recorder: Recorder
    sleeps: list[float] = field(default_factory=list)

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self.recorder.seen

    async def __call__(self, value: Any) -> Any:
        """Await a coroutine (async client) or pass a result through (sync client)."""
        return await value if inspect.isawaitable(value) else value

    async def collect(self, iterator: Any) -> list[Any]:
        """Drain a sync or an async iterator into a list."""
        if hasattr(iterator, "__aiter__"):
            return [item async for item in iterator]
        return list(iterator)


def build_kit(
    mode: str,
    sandbox: Sandbox,
    *,
    cache: Cache | None = None,
    settings: KlaviyoSettings | None = None,
) -> Kit:
    recorder = Recorder(sandbox)
    settings = settings or KlaviyoSettings(private_key=KEY)
    kit = Kit(mode, sandbox, None, recorder)
    if mode == "sync":
        kit.client = KlaviyoClient(
            settings, transport=recorder, cache=cache, sleep=kit.sleeps.append
        )
    else:

        async def asleep(seconds: float) -> None:
            kit.sleeps.append(seconds)

        kit.client = AsyncKlaviyoClient(settings, transport=recorder, cache=cache, sleep=asleep)
    return kit


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=1, rate_limits=False)


@pytest.fixture
def kit(mode: str, sandbox: Sandbox) -> Kit:
    return build_kit(mode, sandbox)


@pytest.fixture
def make_kit(mode: str) -> Callable[..., Kit]:
    """Build a kit of this test's mode on a given sandbox, cache or settings."""

    def make(sandbox: Sandbox, **options: Any) -> Kit:
        return build_kit(mode, sandbox, **options)

    return make
