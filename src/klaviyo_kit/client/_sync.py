"""``KlaviyoClient``: the synchronous entry point."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING

from klaviyo_kit.client._base import BaseClient
from klaviyo_kit.sdk import Pipeline, SdkApis
from klaviyo_kit.services import Profiles

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    import httpx
    from typing_extensions import Self

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.operations import Operation
    from klaviyo_kit.sdk import Stage
    from klaviyo_kit.services import Call

__all__ = ["KlaviyoClient"]


class KlaviyoClient(BaseClient):
    """A Klaviyo client: services and the whole SDK behind one call pipeline, over httpx.

    Every collaborator is injected, and a default is built only when it is ``None``.

    Args:
        settings: Keys, URLs and options; ``None`` reads ``KLAVIYO_*`` from the environment.
        transport: An httpx transport to send through (the sandbox's ``transport()``,
            ``httpx.MockTransport``); ``None`` uses the network.
        http_client: A ready httpx client to send through instead; the caller keeps ownership.
        stages: The call pipeline's stages, outermost first; ``None`` for the defaults.
        sleep: How to wait (polling, backoff); injectable for tests.

    Raises:
        ValueError: If both ``transport`` and ``http_client`` are given.

    Example:
        ```python
        from klaviyo_kit import KlaviyoClient

        with KlaviyoClient() as client:  # KLAVIYO_PRIVATE_KEY from the environment
            profile = client.profiles.upsert({"email": "ada@example.com"})
            page = client.sdk.lists.get_lists()  # any SDK operation, same pipeline
        ```
    """

    def __init__(
        self,
        settings: KlaviyoSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        stages: Sequence[Stage] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the client; the SDK itself is imported on first use."""
        super().__init__(settings, transport, http_client)
        self.pipeline = Pipeline(stages or ())
        self._sleep = sleep
        self._sdk = SdkApis(self._session.group, self._invoke)

    def _invoke(
        self,
        operation: Operation,
        fn: Callable[..., object],
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
    ) -> object:
        self._check_open()
        return self.pipeline.invoke(operation, fn, args, kwargs)

    def execute(self, call: Call) -> object:
        """Perform one SDK call described by a service flow, through the pipeline."""
        op, fn, kwargs = self._resolve(call)
        return self.pipeline.invoke(op, fn, call.args, kwargs)

    def sleep(self, seconds: float) -> None:
        """Wait with the injected sleep (used when polling jobs)."""
        self._sleep(seconds)

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(timezone.utc)

    @property
    def sdk(self) -> SdkApis:
        """Every SDK API group, lazily: ``client.sdk.profiles.get_profiles(...)``.

        Raises:
            RuntimeError: If the client is closed.
        """
        self._check_open()
        return self._sdk

    @cached_property
    def profiles(self) -> Profiles:
        """Profiles: upsert, get, find by email, iterate, bulk import, sync."""
        return Profiles(self)

    def close(self) -> None:
        """Close the httpx client (if this client built it); later calls raise ``RuntimeError``."""
        self._close_http()

    def __enter__(self) -> Self:
        """Use the client as a context manager that closes it on exit."""
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()
