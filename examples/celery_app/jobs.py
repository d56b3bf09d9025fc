"""A tiny job for the example: track one heartbeat event per pass (any ``Job`` works)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from klaviyo_kit.jobs import JobReport, never_stop
from klaviyo_kit.jobs._job import utcnow

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit import KlaviyoClient
    from klaviyo_kit.infra import StateStore


class HeartbeatJob:
    """Track a "Worker Heartbeat" event, counting the passes in the store."""

    name = "heartbeat"

    def __init__(self, client: KlaviyoClient, store: StateStore) -> None:
        """Bind the job to the worker's client and store."""
        self._client = client
        self._store = store

    def run(self, *, should_stop: Callable[[], bool] = never_stop) -> JobReport:
        """Make one pass: one event, one checkpoint."""
        started = utcnow()
        if should_stop():
            return JobReport(self.name, started, utcnow(), complete=False)
        passes = int(self._store.get_cursor("jobs:heartbeat:passes") or 0) + 1
        self._client.events.track(
            "Worker Heartbeat", "ops@example.com", {"pass": passes, "pid": os.getpid()}
        )
        self._store.set_cursor("jobs:heartbeat:passes", str(passes))
        return JobReport(self.name, started, utcnow(), counts={"tracked": 1})
