"""klaviyo-kit: a typed, resilient integration kit over the official klaviyo-api SDK.

Importing this package is cheap: the clients (and with them httpx and pydantic-settings) load on
first access of a name below, and the SDK itself (``klaviyo_api``, ``openapi_client``) only when
an API group is first used. The pytest plugin in :mod:`klaviyo_kit.testing` relies on this.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from klaviyo_kit._version import __version__

if TYPE_CHECKING:
    from klaviyo_kit.client import (
        AsyncKlaviyoClient,
        ClientState,
        KlaviyoClient,
        default_client,
        reset_default_client,
    )
    from klaviyo_kit.config import Environment, KlaviyoSettings

__all__ = [
    "AsyncKlaviyoClient",
    "ClientState",
    "Environment",
    "KlaviyoClient",
    "KlaviyoSettings",
    "__version__",
    "default_client",
    "reset_default_client",
]

_HOMES = {
    "AsyncKlaviyoClient": "klaviyo_kit.client",
    "ClientState": "klaviyo_kit.client",
    "KlaviyoClient": "klaviyo_kit.client",
    "default_client": "klaviyo_kit.client",
    "reset_default_client": "klaviyo_kit.client",
    "Environment": "klaviyo_kit.config",
    "KlaviyoSettings": "klaviyo_kit.config",
}


def __getattr__(name: str) -> object:
    """Load a public name from its module on first access."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'klaviyo_kit' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names, loaded or not."""
    return sorted(set(globals()) | set(__all__))
