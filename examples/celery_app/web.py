"""What a web process does: queue events (microseconds, no request to Klaviyo), kick delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from examples.celery_app.tasks import make_queue, tasks

from klaviyo_kit.jobs._delivery_task import enqueue_events

if TYPE_CHECKING:
    from klaviyo_kit.services import TrackedEvent

_queue = make_queue()


def track_signups(emails: list[str]) -> list[TrackedEvent]:
    """Queue a "Signed Up" event per email and make sure a worker delivers them."""
    receipts = enqueue_events(
        _queue, ({"metric": "Signed Up", "profile": email} for email in emails)
    )
    tasks.deliver_events()  # beat's deliver_every also starts one every 10 s
    return receipts
