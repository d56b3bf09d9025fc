"""Send one prepared bulk create body through a client's pipeline, for queue workers.

Engines (``klaviyo_kit.jobs``) deliver queued events from worker processes with the same
reserve / send / triage steps as the background sender; this is their ``send``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.services._events import _bulk_flow

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._events import Events

__all__ = ["bulk_sender"]


def bulk_sender(events: Events) -> Callable[[JsonDict], None]:
    """Return a function sending one ``bulk_create_events`` body through ``events``' client.

    The call goes through the whole pipeline (limiter, breaker, retries, error translation),
    exactly as the background sender's requests do.
    """

    def send(body: JsonDict) -> None:
        events._run(_bulk_flow(body))  # noqa: SLF001 - the service's own runner

    return send
