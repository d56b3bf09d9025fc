"""Klaviyo's system webhook topics and the metric behind each one."""

from __future__ import annotations

from typing import Final

_METRICS: Final = (
    "Received Email",
    "Opened Email",
    "Clicked Email",
    "Bounced Email",
    "Dropped Email",
    "Marked Email as Spam",
    "Subscribed to Email Marketing",
    "Unsubscribed from Email Marketing",
    "Manually Suppressed from Email Marketing",
    "Manually Unsuppressed from Email Marketing",
    "Updated Email Preferences",
    "Sent SMS",
    "Received SMS",
    "Clicked SMS",
    "Failed to Deliver SMS",
    "Received Automated Response SMS",
    "Failed to Deliver Automated Response SMS",
    "Subscribed to SMS Marketing",
    "Unsubscribed from SMS Marketing",
    "Received Push",
    "Opened Push",
    "Bounced Push",
    "Ready to Review",
    "Submitted Review",
    "Submitted Rating",
)


def topic_for(metric_name: str, integration: str = "klaviyo") -> str:
    """Return a metric's topic id, e.g. ``event:klaviyo.opened_email`` or ``event:api.viewed``."""
    return f"event:{integration}." + metric_name.lower().replace(" ", "_")


SYSTEM_TOPICS: Final = {topic_for(name): name for name in _METRICS}
"""Topic id → metric name, for every documented system topic."""


def metric_for(topic: str) -> str:
    """Return the metric name of a topic given as ``event:klaviyo.x`` or just ``x``.

    Raises:
        ValueError: If the topic is not a Klaviyo system topic.
    """
    full = topic if topic.startswith("event:") else f"event:klaviyo.{topic}"
    try:
        return SYSTEM_TOPICS[full]
    except KeyError:
        msg = f"unknown system topic {topic!r}; known: {sorted(SYSTEM_TOPICS)}"
        raise ValueError(msg) from None
