"""Services are tested against the sandbox, in process, through the real client and pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.sandbox import Sandbox

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
    return KlaviyoSettings(private_key=KEY)


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
