"""klaviyo-kit: a typed, resilient integration kit over the official klaviyo-api SDK.

Importing this package imports neither ``klaviyo_api`` nor ``openapi_client``: each SDK module is
loaded on first use.
"""

from __future__ import annotations

from klaviyo_kit._version import __version__
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
