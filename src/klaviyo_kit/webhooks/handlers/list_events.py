"""Subscribe and unsubscribe topics update local list membership."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from klaviyo_kit.webhooks.handlers._common import subject, utc_now
from klaviyo_kit.webhooks.handlers._values import MembershipChange
from klaviyo_kit.webhooks.handlers.profile_events import CONSENT_TOPICS

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from klaviyo_kit.webhooks._delivery import WebhookEvent
    from klaviyo_kit.webhooks._router import WebhookRouter
    from klaviyo_kit.webhooks.handlers._repository import ListRepository

LIST_ID_PROPERTIES: Final = ("list_id", "List ID", "$list", "list")
"""``event_properties`` keys that may carry the list id, in the order they are tried."""


def list_id_of(event: WebhookEvent) -> str | None:
    """Return the list a subscription event names, or ``None`` when it names none."""
    properties = event.properties
    for key in LIST_ID_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def register_list_handlers(
    router: WebhookRouter,
    repository: ListRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Register handlers that write list membership changes to ``repository``.

    A subscription names its list in ``event_properties`` (see :data:`LIST_ID_PROPERTIES`);
    one without a list changes no membership. An unsubscription without a list is a global
    unsubscribe and leaves every list of that channel (``list_id=None``).

    Args:
        router: The router to register on.
        repository: Where local list membership lives.
        clock: The time used for events that carry none.
    """

    def on_membership(event: WebhookEvent) -> None:
        found = subject(event, clock)
        if found is None:
            return
        channel, subscribed = CONSENT_TOPICS[event.topic]
        list_id = list_id_of(event)
        if list_id is None and subscribed:
            return
        repository.apply_membership(
            MembershipChange(found[0], list_id, channel, subscribed, found[1], event.external_id)
        )

    for topic in CONSENT_TOPICS:
        router.add(topic, on_membership)
