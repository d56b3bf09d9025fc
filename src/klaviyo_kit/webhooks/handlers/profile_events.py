"""Consent and suppression topics update the local profile record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from klaviyo_kit.webhooks.handlers._common import TOPIC_PREFIX, subject, utc_now
from klaviyo_kit.webhooks.handlers._values import Channel, ConsentChange, SuppressionChange

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from klaviyo_kit.webhooks._delivery import WebhookEvent
    from klaviyo_kit.webhooks._router import WebhookRouter
    from klaviyo_kit.webhooks.handlers._repository import ProfileRepository

CONSENT_TOPICS: Final[Mapping[str, tuple[Channel, bool]]] = {
    f"{TOPIC_PREFIX}subscribed_to_email_marketing": (Channel.EMAIL, True),
    f"{TOPIC_PREFIX}unsubscribed_from_email_marketing": (Channel.EMAIL, False),
    f"{TOPIC_PREFIX}subscribed_to_sms_marketing": (Channel.SMS, True),
    f"{TOPIC_PREFIX}unsubscribed_from_sms_marketing": (Channel.SMS, False),
}
"""Topic → (channel, subscribed) for the consent topics."""

SUPPRESSION_TOPICS: Final[Mapping[str, tuple[Channel, bool]]] = {
    f"{TOPIC_PREFIX}manually_suppressed_from_email_marketing": (Channel.EMAIL, True),
    f"{TOPIC_PREFIX}manually_unsuppressed_from_email_marketing": (Channel.EMAIL, False),
}
"""Topic → (channel, suppressed) for the suppression topics."""


def register_profile_handlers(
    router: WebhookRouter,
    repository: ProfileRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Register handlers that write consent and suppression changes to ``repository``.

    Args:
        router: The router to register on.
        repository: Where the local profile record lives.
        clock: The time used for events that carry none.
    """

    def on_consent(event: WebhookEvent) -> None:
        found = subject(event, clock)
        if found is not None:
            channel, subscribed = CONSENT_TOPICS[event.topic]
            repository.apply_consent(
                ConsentChange(found[0], channel, subscribed, found[1], event.external_id)
            )

    def on_suppression(event: WebhookEvent) -> None:
        found = subject(event, clock)
        if found is not None:
            channel, suppressed = SUPPRESSION_TOPICS[event.topic]
            repository.apply_suppression(
                SuppressionChange(found[0], channel, suppressed, found[1], event.external_id)
            )

    for topic in CONSENT_TOPICS:
        router.add(topic, on_consent)
    for topic in SUPPRESSION_TOPICS:
        router.add(topic, on_suppression)
