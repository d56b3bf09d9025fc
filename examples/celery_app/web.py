"""What a web process does: queue events (microseconds, no request to Klaviyo).

Beat starts a delivery every 10 s (``deliver_every``); each delivery re-queues itself while
events wait and ends when it finds the queue empty. Do not start one per request: under load
every one of them would keep going.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from examples.celery_app.tasks import make_queue, tasks

from klaviyo_kit.jobs._delivery_task import enqueue_events

if TYPE_CHECKING:
    from klaviyo_kit.services import TrackedEvent

_queue = make_queue()


def track_signups(emails: list[str]) -> list[TrackedEvent]:
    """Queue a "Signed Up" event per email; the next scheduled delivery sends them."""
    return enqueue_events(_queue, ({"metric": "Signed Up", "profile": email} for email in emails))


def deliver_now(tasks_to_start: int = 1) -> None:
    """Start deliveries at once (a deploy hook, a backfill) instead of waiting for beat."""
    tasks.deliver_events(tasks=tasks_to_start)
