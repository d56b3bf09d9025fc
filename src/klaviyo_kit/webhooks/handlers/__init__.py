"""Default webhook handlers: consent, suppression, list membership and engagement.

The handlers write through small repository protocols the host application implements;
:class:`SQLWebhookRepository` (the ``sql`` extra) keeps the same data in the state store's
database and is imported only when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from klaviyo_kit.webhooks.handlers._defaults import register_default_handlers
from klaviyo_kit.webhooks.handlers._repository import (
    EngagementRepository,
    ListRepository,
    ProfileRepository,
    WebhookRepository,
)
from klaviyo_kit.webhooks.handlers._values import (
    Channel,
    ConsentChange,
    Engagement,
    EngagementKind,
    MembershipChange,
    SuppressionChange,
)
from klaviyo_kit.webhooks.handlers.campaign_events import (
    ENGAGEMENT_TOPICS,
    register_campaign_handlers,
)
from klaviyo_kit.webhooks.handlers.list_events import register_list_handlers
from klaviyo_kit.webhooks.handlers.profile_events import (
    CONSENT_TOPICS,
    SUPPRESSION_TOPICS,
    register_profile_handlers,
)

if TYPE_CHECKING:
    from klaviyo_kit.webhooks.handlers._sql_repository import (
        ChannelState,
        EngagementSummary,
        SQLWebhookRepository,
    )

__all__ = [
    "CONSENT_TOPICS",
    "ENGAGEMENT_TOPICS",
    "SUPPRESSION_TOPICS",
    "Channel",
    "ChannelState",
    "ConsentChange",
    "Engagement",
    "EngagementKind",
    "EngagementRepository",
    "EngagementSummary",
    "ListRepository",
    "MembershipChange",
    "ProfileRepository",
    "SQLWebhookRepository",
    "SuppressionChange",
    "WebhookRepository",
    "register_campaign_handlers",
    "register_default_handlers",
    "register_list_handlers",
    "register_profile_handlers",
]

_LAZY = frozenset({"ChannelState", "EngagementSummary", "SQLWebhookRepository"})


def __getattr__(name: str) -> object:
    """Import the SQL repository (which needs SQLAlchemy) on first access."""
    if name not in _LAZY:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value: object = getattr(
        importlib.import_module("klaviyo_kit.webhooks.handlers._sql_repository"), name
    )
    if isinstance(value, type):
        value.__module__ = __name__
    globals()[name] = value
    return value


for _value in (
    Channel,
    ConsentChange,
    Engagement,
    EngagementKind,
    EngagementRepository,
    ListRepository,
    MembershipChange,
    ProfileRepository,
    SuppressionChange,
    WebhookRepository,
    register_campaign_handlers,
    register_default_handlers,
    register_list_handlers,
    register_profile_handlers,
):
    _value.__module__ = __name__
del _value
