"""Services are tested against the sandbox, in process, through the real client and pipeline."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from klaviyo_kit.infra import Cache

KEY = "pk_" + "f6" * 17


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=7, rate_limits=False)


@dataclass
class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and remembers (method, path, status) of each."""

    inner: httpx.BaseTransport
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.calls.append((request.method, request.url.path, response.status_code))
        return response

    def statuses(self, path: str) -> list[int]:
        return [status for _, p, status in self.calls if p == path]


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    return Recorder(sandbox.transport())


@pytest.fixture
def settings() -> KlaviyoSettings:
    # The sandbox here enforces no limits, so the client does not pace either.
    return KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})


@pytest.fixture
def client(recorder: Recorder, settings: KlaviyoSettings) -> Iterator[KlaviyoClient]:
    with KlaviyoClient(settings, transport=recorder, sleep=lambda _: None) as c:
        yield c


@pytest.fixture
async def aclient(
    recorder: Recorder, settings: KlaviyoSettings
) -> AsyncIterator[AsyncKlaviyoClient]:
    async def no_sleep(_: float) -> None:
        return None

    async with AsyncKlaviyoClient(settings, transport=recorder, sleep=no_sleep) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- One test body for both clients (lists, segments, campaigns, metrics) --------------------
# ``kit`` is parametrised over the synchronous and the asynchronous client; a test is written
# once as ``async def`` and ``await kit(...)`` awaits only what needs awaiting.


@dataclass
class Kit:
    """One client (sync or async) on a sandbox, and the requests it made."""

    mode: str
    sandbox: Sandbox
    recorder: Recorder
    client: Any = None
    sleeps: list[float] = field(default_factory=list)

    @property
    def requests(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.recorder.calls]

    def count(self, method: str, path: str) -> int:
        return self.requests.count((method, path))

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
    wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
) -> Kit:
    inner = sandbox.transport()
    kit = Kit(mode, sandbox, Recorder(wrap(inner) if wrap else inner))
    settings = settings or KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    if mode == "sync":
        kit.client = KlaviyoClient(
            settings, transport=kit.recorder, cache=cache, sleep=kit.sleeps.append
        )
    else:

        async def asleep(seconds: float) -> None:
            kit.sleeps.append(seconds)

        kit.client = AsyncKlaviyoClient(settings, transport=kit.recorder, cache=cache, sleep=asleep)
    return kit


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def kit(mode: str, sandbox: Sandbox) -> Kit:
    return build_kit(mode, sandbox)


@pytest.fixture
def make_kit(mode: str) -> Callable[..., Kit]:
    """Build a kit of this test's mode on a given sandbox, cache or settings."""

    def make(sandbox: Sandbox, **options: Any) -> Kit:
        return build_kit(mode, sandbox, **options)

    return make
