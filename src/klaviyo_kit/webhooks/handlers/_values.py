"""The changes webhook handlers hand to the host application's repository."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class Channel(str, Enum):
    """A messaging channel a topic belongs to."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class EngagementKind(str, Enum):
    """What a profile did with (or what happened to) a message."""

    RECEIVED = "received"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    MARKED_SPAM = "marked_spam"


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """A profile subscribed to or unsubscribed from a channel's marketing.

    Attributes:
        profile_id: The Klaviyo profile id.
        channel: The channel.
        subscribed: ``True`` for a subscription, ``False`` for an unsubscription.
        at: When it happened; later changes win over earlier ones.
        event_id: The Klaviyo event id it came from.
    """

    profile_id: str
    channel: Channel
    subscribed: bool
    at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class SuppressionChange:
    """A profile was suppressed or unsuppressed for a channel.

    Attributes:
        profile_id: The Klaviyo profile id.
        channel: The channel.
        suppressed: ``True`` when suppressed, ``False`` when lifted.
        at: When it happened; later changes win over earlier ones.
        event_id: The Klaviyo event id it came from.
    """

    profile_id: str
    channel: Channel
    suppressed: bool
    at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """A profile joined or left a list.

    Attributes:
        profile_id: The Klaviyo profile id.
        list_id: The list, or ``None`` for "every list on this channel" (a global
            unsubscribe names no list).
        channel: The channel of the subscription.
        subscribed: ``True`` when the profile joined, ``False`` when it left.
        at: When it happened; later changes win over earlier ones.
        event_id: The Klaviyo event id it came from.
    """

    profile_id: str
    list_id: str | None
    channel: Channel
    subscribed: bool
    at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class Engagement:
    """One engagement event for a profile.

    Attributes:
        profile_id: The Klaviyo profile id.
        channel: The channel of the message.
        kind: Received, opened, clicked, bounced or marked as spam.
        at: When it happened.
        event_id: The Klaviyo event id it came from.
    """

    profile_id: str
    channel: Channel
    kind: EngagementKind
    at: datetime
    event_id: str
