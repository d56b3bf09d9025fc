"""A pytest plugin for your own tests: a Klaviyo sandbox, a client wired to it, its HTTP server.

Installed with klaviyo-kit (entry point ``pytest11``), so the fixtures are there with no import:

```python
def test_welcome_flow(klaviyo_client, klaviyo_sandbox):
    klaviyo_client.profiles.upsert({"email": "ada@example.com"})
    assert len(klaviyo_sandbox.account.profiles) == 1
```

Configure the sandbox per test with the ``klaviyo_sandbox`` marker, whose keyword arguments go to
:class:`klaviyo_kit.sandbox.Sandbox`:

```python
@pytest.mark.klaviyo_sandbox(rate_limits=True, faults=FaultPlan(seed=1, statuses={503: 0.2}))
def test_survives_outages(klaviyo_client): ...
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from klaviyo_kit import KlaviyoClient
    from klaviyo_kit.sandbox import Sandbox, SandboxServer

__all__ = ["SANDBOX_KEY", "klaviyo_client", "klaviyo_sandbox", "klaviyo_sandbox_server"]

SANDBOX_KEY = "pk_sandbox" + "0" * 28
"""The private key the ``klaviyo_client`` fixture sends (any well-formed ``pk_`` key works)."""

_MARKER = "klaviyo_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``klaviyo_sandbox`` marker."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): options for the klaviyo_sandbox fixture's Sandbox "
        "(seed, rate_limits, time_scale, faults, api_key, ...)",
    )


@pytest.fixture
def klaviyo_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Return a fresh, seeded sandbox; rate limits are off unless the marker turns them on.

    Returns:
        A :class:`~klaviyo_kit.sandbox.Sandbox` with seed 0 and ``rate_limits=False``, updated by
        the keyword arguments of a ``@pytest.mark.klaviyo_sandbox(...)`` marker.
    """
    from klaviyo_kit.sandbox import Sandbox  # noqa: PLC0415 - keep plugin loading cheap

    options: dict[str, object] = {"seed": 0, "rate_limits": False}
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None:
        options.update(marker.kwargs)
    return Sandbox(**options)  # type: ignore[arg-type]


@pytest.fixture
def klaviyo_client(klaviyo_sandbox: Sandbox) -> Iterator[KlaviyoClient]:
    """Yield a :class:`~klaviyo_kit.KlaviyoClient` whose requests the sandbox answers in process.

    Yields:
        An open client, closed after the test.
    """
    from klaviyo_kit import KlaviyoClient, KlaviyoSettings  # noqa: PLC0415 - cheap plugin load

    settings = KlaviyoSettings(private_key=SANDBOX_KEY)
    with KlaviyoClient(settings, transport=klaviyo_sandbox.transport()) as client:
        yield client


@pytest.fixture
def klaviyo_sandbox_server(klaviyo_sandbox: Sandbox) -> Iterator[SandboxServer]:
    """Serve the test's sandbox over HTTP on a free loopback port.

    For clients that need a URL: the official SDK (``KlaviyoAPI(key, test_host=server.url)``),
    another process, or another language.

    Yields:
        The running server; it stops after the test.
    """
    with klaviyo_sandbox.serve() as server:
        yield server
