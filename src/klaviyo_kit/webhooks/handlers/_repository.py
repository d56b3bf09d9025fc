"""The small repository protocols a host application implements to receive webhook changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from klaviyo_kit.webhooks.handlers._values import (
        ConsentChange,
        Engagement,
        MembershipChange,
        SuppressionChange,
    )


class ProfileRepository(Protocol):
    """Keeps the local profile record's consent and suppression state."""

    def apply_consent(self, change: ConsentChange) -> None:
        """Store a subscription change unless a later one is already stored."""

    def apply_suppression(self, change: SuppressionChange) -> None:
        """Store a suppression change unless a later one is already stored."""


class ListRepository(Protocol):
    """Keeps local list membership."""

    def apply_membership(self, change: MembershipChange) -> None:
        """Store a membership change unless a later one is already stored."""


class EngagementRepository(Protocol):
    """Keeps per-profile engagement (which the list cleanup job reads)."""

    def record_engagement(self, engagement: Engagement) -> None:
        """Count one engagement event and remember when it last happened."""


class WebhookRepository(ProfileRepository, ListRepository, EngagementRepository, Protocol):
    """Everything the default handlers write; :class:`SQLWebhookRepository` implements it."""
