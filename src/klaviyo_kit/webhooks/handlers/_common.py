"""What the three handler modules share: reading a profile id and a time off an event."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.webhooks._delivery import WebhookEvent

TOPIC_PREFIX: Final = "event:klaviyo."
logger = logging.getLogger("klaviyo_kit.webhooks")


def utc_now() -> datetime:
    """Return the current UTC time (the default clock for events without a time)."""
    return datetime.now(tz=timezone.utc)


def subject(event: WebhookEvent, clock: Callable[[], datetime]) -> tuple[str, datetime] | None:
    """Return the event's profile id and time, or ``None`` (logged) when it names no profile."""
    profile_id = event.profile_id
    if profile_id is None:
        logger.info("webhook event %s (%s) names no profile", event.external_id, event.topic)
        return None
    occurred = event.occurred_at
    return profile_id, occurred if occurred is not None else clock()
