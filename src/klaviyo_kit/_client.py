"""``KlaviyoClient``: the kit's entry point, and the session singleton for scripts."""

from __future__ import annotations

import threading
from enum import Enum
from typing import TYPE_CHECKING

from klaviyo_kit.config import KlaviyoSettings
from klaviyo_kit.sdk import Pipeline, SdkApis, SdkSession, build_http_client

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    import httpx
    from typing_extensions import Self

    from klaviyo_kit.operations import Operation
    from klaviyo_kit.sdk import Stage

__all__ = ["ClientState", "KlaviyoClient", "default_client", "reset_default_client"]


class ClientState(Enum):
    """Where a client is in its life: reuse after :meth:`KlaviyoClient.close` is an error."""

    OPENED = "opened"
    CLOSED = "closed"


class KlaviyoClient:
    """A Klaviyo client: the SDK behind one call pipeline, carried by httpx.

    Every collaborator is injected, and a default is built only when it is ``None``.

    Args:
        settings: Keys, URLs and options; ``None`` reads ``KLAVIYO_*`` from the environment.
        transport: An httpx transport to send through (the sandbox's ``transport()``,
            ``httpx.MockTransport``); ``None`` uses the network.
        http_client: A ready httpx client to send through instead; the caller keeps ownership.
        stages: The call pipeline's stages, outermost first; ``None`` for the defaults.

    Raises:
        ValueError: If both ``transport`` and ``http_client`` are given.

    Example:
        >>> from klaviyo_kit import KlaviyoClient, KlaviyoSettings
        >>> with KlaviyoClient(KlaviyoSettings(private_key="pk_" + "0" * 34)) as client:
        ...     client.sdk.profiles is client.sdk.profiles
        True
    """

    def __init__(
        self,
        settings: KlaviyoSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        stages: Sequence[Stage] | None = None,
    ) -> None:
        """Create the client; the SDK itself is imported on first use."""
        if transport is not None and http_client is not None:
            msg = "pass transport= or http_client=, not both (give the transport to your client)"
            raise ValueError(msg)
        self.settings = settings if settings is not None else KlaviyoSettings()
        self._owns_http = http_client is None
        self._http = http_client or build_http_client(self.settings, transport)
        self.pipeline = Pipeline(stages or ())
        self._session = SdkSession(self.settings, self._http)
        self._state = ClientState.OPENED
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

    def _check_open(self) -> None:
        if self._state is ClientState.CLOSED:
            msg = "this KlaviyoClient is closed; create a new one"
            raise RuntimeError(msg)

    @property
    def state(self) -> ClientState:
        """Whether the client is open or closed."""
        return self._state

    @property
    def sdk(self) -> SdkApis:
        """Every SDK API group, lazily: ``client.sdk.profiles.get_profiles(...)``.

        Raises:
            RuntimeError: If the client is closed.
        """
        self._check_open()
        return self._sdk

    def close(self) -> None:
        """Close the httpx client (if this client built it); later calls raise ``RuntimeError``."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        if self._owns_http:
            self._http.close()

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

    def __repr__(self) -> str:
        """Describe the client; never shows a key."""
        s = self.settings
        return (
            f"KlaviyoClient(environment={s.environment.value!r}, base_url={s.base_url!r}, "
            f"revision={s.revision!r}, state={self._state.value!r})"
        )


_default: KlaviyoClient | None = None
_default_lock = threading.Lock()


def default_client() -> KlaviyoClient:
    """Return the process-wide client built from the environment, creating it on first call.

    For scripts and notebooks; library code receives a client instead of calling this.

    Returns:
        The shared :class:`KlaviyoClient`.
    """
    global _default  # noqa: PLW0603 - the one documented singleton
    with _default_lock:
        if _default is None or _default.state is ClientState.CLOSED:
            _default = KlaviyoClient()
        return _default


def reset_default_client() -> None:
    """Close and forget the shared client, so the next :func:`default_client` builds a new one."""
    global _default  # noqa: PLW0603
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None
