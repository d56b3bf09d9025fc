"""The clients: ``KlaviyoClient`` and its async twin ``AsyncKlaviyoClient``."""

from __future__ import annotations

from klaviyo_kit.client._async import AsyncKlaviyoClient
from klaviyo_kit.client._base import ClientState
from klaviyo_kit.client._default import default_client, reset_default_client
from klaviyo_kit.client._sync import KlaviyoClient

__all__ = [
    "AsyncKlaviyoClient",
    "ClientState",
    "KlaviyoClient",
    "default_client",
    "reset_default_client",
]
