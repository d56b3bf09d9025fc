"""The SDK session: one ``klaviyo_api.KlaviyoAPI`` configured for the kit, built on first use."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

import httpx

from klaviyo_kit._config_urls import mask_url
from klaviyo_kit._version import __version__
from klaviyo_kit.sdk._apis import GROUPS, operation_for
from klaviyo_kit.sdk._transport import HttpxRestClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_api import KlaviyoAPI

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.operations import Operation

__all__ = ["SdkSession", "build_http_client", "default_timeout"]

_USER_AGENT: Final = f"klaviyo-kit/{__version__}"


def default_timeout(settings: KlaviyoSettings) -> httpx.Timeout:
    """Return the httpx timeout the settings ask for (the SDK itself sets none)."""
    return httpx.Timeout(settings.timeout, connect=settings.connect_timeout)


def build_http_client(
    settings: KlaviyoSettings, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """Build the pooled httpx client every SDK request goes through.

    Args:
        settings: Timeouts come from here.
        transport: An injected transport (the sandbox, ``httpx.MockTransport``); ``None`` for
            httpx's default network transport.

    Returns:
        A new client; the caller closes it.
    """
    return httpx.Client(
        transport=transport,
        timeout=default_timeout(settings),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        follow_redirects=False,
    )


class SdkSession:
    """Owns one ``KlaviyoAPI`` whose HTTP goes through an httpx client.

    The SDK's own retries are off (``max_retries=1`` is one attempt), responses come back as
    dictionaries (``USE_DICTIONARY_FOR_RESPONSE_DATA``) so strict generated models never break on
    real payloads, and the revision and base URL come from the settings.

    Args:
        settings: Key, base URL, revision and timeouts.
        http_client: The httpx client to send through; the caller owns it.
    """

    def __init__(self, settings: KlaviyoSettings, http_client: httpx.Client) -> None:
        """Prepare the session; nothing from the SDK is imported until first use."""
        self._settings = settings
        self._http = http_client
        self._api: KlaviyoAPI | None = None
        self._groups: dict[str, object] = {}
        self._lock = threading.RLock()

    @property
    def api(self) -> KlaviyoAPI:
        """The configured ``KlaviyoAPI``, built (and the SDK imported) on first access.

        Raises:
            klaviyo_kit.errors.ConfigurationError: If no private key is configured.
        """
        with self._lock:
            if self._api is None:
                self._api = self._build()
            return self._api

    def _build(self) -> KlaviyoAPI:
        key = self._settings.require_private_key()
        from klaviyo_api import KlaviyoAPI  # noqa: PLC0415 - the SDK loads on first use
        from openapi_client.api_arg_options import (  # noqa: PLC0415
            USE_DICTIONARY_FOR_RESPONSE_DATA,
        )

        api = KlaviyoAPI(
            key.get_secret_value(),
            max_retries=1,
            test_host=self._settings.base_url,
            options={USE_DICTIONARY_FOR_RESPONSE_DATA: True},
        )
        client = api.api_client
        client.default_headers["revision"] = self._settings.revision
        client.user_agent = f"{_USER_AGENT} {client.user_agent}"
        old = client.rest_client
        client.rest_client = HttpxRestClient(self._http, timeout=default_timeout(self._settings))
        old.pool_manager.clear()
        return api

    def group(self, prop: str) -> object:
        """Return the SDK's API group object for a ``KlaviyoAPI`` property name (``Profiles``).

        Built once per session and cached (the SDK's own property builds a new one each time).
        """
        with self._lock:
            found = self._groups.get(prop)
            if found is None:
                found = self._groups[prop] = getattr(self.api, prop)
            return found

    def resolve(self, group: str, method: str) -> tuple[Operation, Callable[..., object]]:
        """Return the operation and the generated SDK method for ``group.method``.

        Args:
            group: The snake-case API group (``profiles``).
            method: The SDK method name (``get_profiles``), aliases included.

        Returns:
            The operation (for limits and retry decisions) and the bound SDK method.

        Raises:
            AttributeError: If the SDK has no such group or method.
        """
        prop = GROUPS.get(group)
        if prop is None:
            msg = f"the Klaviyo SDK has no API group {group!r}"
            raise AttributeError(msg)
        api = self.group(prop)
        return operation_for(method), getattr(type(api), method).__get__(api)

    def __repr__(self) -> str:
        """Describe the session without its key."""
        built = "built" if self._api is not None else "not built"
        url = mask_url(self._settings.base_url)
        return f"<SdkSession {url} revision={self._settings.revision} {built}>"
