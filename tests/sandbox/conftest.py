"""Fixtures: a seeded sandbox served over loopback and the official SDK pointed at it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

    from klaviyo_kit.sandbox import SandboxServer

KEY = "pk_" + "x" * 34


@pytest.fixture
def sandbox() -> Sandbox:
    # Functional tests are not about pacing; rate limits have their own tests.
    return Sandbox(seed=1234, rate_limits=False)


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with sandbox.serve() as running:
        yield running


@pytest.fixture
def sdk(server: SandboxServer) -> Any:
    from klaviyo_api import KlaviyoAPI

    return KlaviyoAPI(KEY, test_host=server.url, max_retries=1)
