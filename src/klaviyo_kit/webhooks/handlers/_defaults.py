"""Register all the default handlers at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.webhooks.handlers._common import utc_now
from klaviyo_kit.webhooks.handlers.campaign_events import register_campaign_handlers
from klaviyo_kit.webhooks.handlers.list_events import register_list_handlers
from klaviyo_kit.webhooks.handlers.profile_events import register_profile_handlers

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from klaviyo_kit.webhooks._router import WebhookRouter
    from klaviyo_kit.webhooks.handlers._repository import WebhookRepository


def register_default_handlers(
    router: WebhookRouter,
    repository: WebhookRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Register the profile, list and campaign handlers, all writing to ``repository``.

    Args:
        router: The router to register on.
        repository: The host application's repository, or :class:`SQLWebhookRepository`.
        clock: The time used for events that carry none.

    Example:
        >>> store = SQLStateStore("sqlite:///state.sqlite3")  # doctest: +SKIP
        >>> router = WebhookRouter(store)  # doctest: +SKIP
        >>> repository = SQLWebhookRepository.from_store(store)  # doctest: +SKIP
        >>> register_default_handlers(router, repository)  # doctest: +SKIP
    """
    register_profile_handlers(router, repository, clock=clock)
    register_list_handlers(router, repository, clock=clock)
    register_campaign_handlers(router, repository, clock=clock)
