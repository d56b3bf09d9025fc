"""What the Celery and RQ tests share: a sandbox, Redis per test, queued events, workers."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import redis
from tests.jobs._apps.procs import start

from klaviyo_kit.infra import RedisQueue, SQLStateStore
from klaviyo_kit.jobs import load_status
from klaviyo_kit.jobs._delivery_task import enqueue_events

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from klaviyo_kit.infra import JSONValue

BAD_EVENT: JSONValue = {
    "properties": {},
    "metric": {"data": {"type": "metric", "attributes": {"name": "Broken"}}},
    "profile": {"data": {"type": "profile", "attributes": {"email": "bad@example.com"}}},
    "time": "not a time",
    "unique_id": "bad-1",
}


def fresh_redis(db: int) -> str:
    """Empty Redis database ``db`` and return its URL."""
    url = f"redis://127.0.0.1:6379/{db}"
    redis.Redis.from_url(url).flushdb()
    return url


def queue_events(url: str, name: str, count: int, *, tag: str) -> RedisQueue:
    """Put ``count`` prepared events on the Redis queue ``name``; return the queue."""
    queue = RedisQueue(url, name=name)
    enqueue_events(
        queue,
        (
            {
                "metric": "Engine Hammer",
                "profile": f"p{i % 50}@example.com",
                "properties": {"i": i, "tag": tag},
            }
            for i in range(count)
        ),
    )
    return queue


def celery_worker(
    name: str, env: dict[str, str], log: Path, *, concurrency: int = 2
) -> subprocess.Popen[str]:
    """Start a prefork Celery worker of ``tests.jobs._apps.celery_app``."""
    args = [
        sys.executable, "-m", "celery", "-A", "tests.jobs._apps.celery_app", "worker",
        "--pool=prefork", "-c", str(concurrency), "-n", f"{name}@%h", "-l", "info",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    return start(args, log.open("w"), **env)


def read(path: Path) -> str:
    """A log's text (for assertion messages)."""
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def status_counts(counts: dict[str, Any]) -> dict[str, int]:
    """The sandbox's answers by status."""
    statuses: dict[str, int] = counts["statuses"]
    return statuses


def assert_stopped_at_a_checkpoint(state: Path, counts: dict[str, Any], log: Path) -> None:
    """The ``long_pages`` pass stopped early, its last page finished, checkpointed, sent once."""
    store = SQLStateStore(f"sqlite:///{state}")
    report = load_status(store, "long_pages").last_report
    assert report is not None, read(log)
    assert report["complete"] is False
    pages = report["counts"]
    assert isinstance(pages, dict)
    assert 3 <= pages["pages"] < 1000
    # The page in flight was finished and checkpointed: the next pass starts after it.
    assert store.get_cursor("jobs:long_pages:page") == str(pages["pages"])
    assert status_counts(counts)["202"] == pages["pages"], "each page's event was sent once"
