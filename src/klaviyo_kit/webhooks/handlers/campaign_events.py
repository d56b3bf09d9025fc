"""Received, opened, clicked, bounced and marked-as-spam topics update per-profile engagement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from klaviyo_kit.webhooks.handlers._common import TOPIC_PREFIX, subject, utc_now
from klaviyo_kit.webhooks.handlers._values import Channel, Engagement, EngagementKind

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from klaviyo_kit.webhooks._delivery import WebhookEvent
    from klaviyo_kit.webhooks._router import WebhookRouter
    from klaviyo_kit.webhooks.handlers._repository import EngagementRepository

ENGAGEMENT_TOPICS: Final[Mapping[str, tuple[Channel, EngagementKind]]] = {
    f"{TOPIC_PREFIX}received_email": (Channel.EMAIL, EngagementKind.RECEIVED),
    f"{TOPIC_PREFIX}opened_email": (Channel.EMAIL, EngagementKind.OPENED),
    f"{TOPIC_PREFIX}clicked_email": (Channel.EMAIL, EngagementKind.CLICKED),
    f"{TOPIC_PREFIX}bounced_email": (Channel.EMAIL, EngagementKind.BOUNCED),
    f"{TOPIC_PREFIX}marked_email_as_spam": (Channel.EMAIL, EngagementKind.MARKED_SPAM),
    f"{TOPIC_PREFIX}received_sms": (Channel.SMS, EngagementKind.RECEIVED),
    f"{TOPIC_PREFIX}clicked_sms": (Channel.SMS, EngagementKind.CLICKED),
    f"{TOPIC_PREFIX}received_push": (Channel.PUSH, EngagementKind.RECEIVED),
    f"{TOPIC_PREFIX}opened_push": (Channel.PUSH, EngagementKind.OPENED),
    f"{TOPIC_PREFIX}bounced_push": (Channel.PUSH, EngagementKind.BOUNCED),
}
"""Topic → (channel, engagement kind) for the engagement topics."""


def register_campaign_handlers(
    router: WebhookRouter,
    repository: EngagementRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Register handlers that record per-profile engagement in ``repository``.

    Args:
        router: The router to register on.
        repository: Where engagement counts live.
        clock: The time used for events that carry none.
    """

    def on_engagement(event: WebhookEvent) -> None:
        found = subject(event, clock)
        if found is not None:
            channel, kind = ENGAGEMENT_TOPICS[event.topic]
            repository.record_engagement(
                Engagement(found[0], channel, kind, found[1], event.external_id)
            )

    for topic in ENGAGEMENT_TOPICS:
        router.add(topic, on_engagement)
