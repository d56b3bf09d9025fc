"""A small real job for the engine tests: each page tracks one event through the client."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.jobs import JobReport, never_stop
from klaviyo_kit.jobs._job import utcnow

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.infra import StateStore

KEY = "pk_" + "e7" * 17


class TrackPagesJob:
    """Track one event per page, checkpointing the page number in the store.

    Resumes after the last checkpointed page. ``page_delay`` makes a page take a while, so tests
    can stop it in the middle; ``log`` prints ``page N`` after each page.
    """

    def __init__(
        self,
        client: KlaviyoClient,
        store: StateStore,
        *,
        name: str = "track_pages",
        pages: int = 3,
        page_delay: float = 0.0,
        log: bool = False,
    ) -> None:
        self._client = client
        self._store = store
        self._name = name
        self._pages = pages
        self._delay = page_delay
        self._log = log

    @property
    def name(self) -> str:
        return self._name

    def _cursor(self) -> str:
        return f"jobs:{self._name}:page"

    def run(self, *, should_stop: Callable[[], bool] = never_stop) -> JobReport:
        started = utcnow()
        page = int(self._store.get_cursor(self._cursor()) or 0)
        done = 0
        complete = True
        while page < self._pages:
            if should_stop():
                complete = False
                break
            self._client.events.track(
                "Engine Page", "pages@example.com", {"job": self._name, "page": page}
            )
            time.sleep(self._delay)
            page += 1
            done += 1
            self._store.set_cursor(self._cursor(), str(page))
            if self._log:
                sys.stdout.write(f"page {page}\n")
                sys.stdout.flush()
        if complete:
            self._store.set_cursor(self._cursor(), "0")
        return JobReport(self._name, started, utcnow(), complete=complete, counts={"pages": done})


def client_for(url: str, **settings: object) -> KlaviyoClient:
    """A client of the sandbox served at ``url``."""
    return KlaviyoClient(KlaviyoSettings(private_key=KEY, base_url=url, **settings))  # type: ignore[arg-type]


def env(name: str) -> str:
    """A required environment variable of a worker app."""
    return os.environ[name]
