"""The session singleton for scripts: ``default_client()`` / ``reset_default_client()``."""

from __future__ import annotations

import threading

from klaviyo_kit.client._base import ClientState
from klaviyo_kit.client._sync import KlaviyoClient

__all__ = ["default_client", "reset_default_client"]

_default: KlaviyoClient | None = None
_lock = threading.Lock()


def default_client() -> KlaviyoClient:
    """Return the process-wide client built from the environment, creating it on first call.

    For scripts and notebooks; library code receives a client instead of calling this.

    Returns:
        The shared :class:`~klaviyo_kit.KlaviyoClient`.
    """
    global _default  # noqa: PLW0603 - the one documented singleton
    with _lock:
        if _default is None or _default.state is ClientState.CLOSED:
            _default = KlaviyoClient()
        return _default


def reset_default_client() -> None:
    """Close and forget the shared client, so the next :func:`default_client` builds a new one."""
    global _default  # noqa: PLW0603
    with _lock:
        if _default is not None:
            _default.close()
        _default = None
