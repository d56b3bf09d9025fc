"""A sender process SIGKILLed mid-batch loses nothing and stores nothing twice.

Three processes, as in production: the sandbox (``python -m klaviyo_kit.sandbox``) plays Klaviyo,
Redis holds the queue, and ``_worker.py`` runs an ``EventSender`` that drains it. The first worker
is SIGKILLed while it acks a batch Klaviyo accepted (it stops itself at that point and waits for
the signal, so the crash lands mid-batch on every run): part of the batch is stored *and* still
pending in Redis. A second worker must deliver the rest, get the killed
batch back once its ``visibility_timeout`` ends, and resend it; each event's ``unique_id``
makes that resend a no-op in the sandbox.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

from klaviyo_kit.infra import RedisQueue
from klaviyo_kit.operations import SDK_REVISION
from klaviyo_kit.services._event_inputs import prepare_events

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests._redis_server import RedisServer

pytestmark = pytest.mark.redis

WORKER = Path(__file__).with_name("_worker.py")
KEY = "pk_" + "c4" * 17
N = 600
BATCH = 50
FREEZE_AT = 2 * BATCH + BATCH // 2 + 1  # the 126th ack: batch 3 is stored, half of it acked
VISIBILITY = 2.0
SLACK = 5.0
"""Seconds the drain may take beyond ``VISIBILITY`` after the restart. The killed batch was
reserved before the restart, so it is visible again by ``restart + VISIBILITY`` at the latest;
then one bulk request and its acks, and this test's poll. Starting the worker (Python, the kit,
the SDK: under 1 s here) and sending the other nine batches (the bulk endpoint allows 10 requests
a second) overlap that wait. Measured here: the drain ends 2.0 s after the restart."""
DEADLINE = 60.0
"""Seconds any single wait may take before the test fails (far beyond the bounds asserted)."""


class Child:
    """A child process whose JSON stdout lines are read on a thread, so waits have deadlines."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._stderr: list[str] = []
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._lines.put)),
            threading.Thread(target=self._read, args=(self.process.stderr, self._stderr.append)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], sink: Callable[[str], object]) -> None:
        for line in stream:
            sink(line)

    def line(self, timeout: float = DEADLINE) -> str:
        """Return the next line printed, failing after ``timeout`` seconds."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no line within {timeout} s; stderr:\n{self.stderr}")

    def expect(self, event: str) -> dict[str, Any]:
        """Return the next JSON line, which must be ``event``."""
        found: dict[str, Any] = json.loads(self.line())
        assert found["event"] == event, (found, self.stderr)
        return found

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` (if still running), wait for the exit and the output; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        for reader in self._readers:
            reader.join(timeout=DEADLINE)
        return status


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start children that are killed after the test, whatever it left running."""
    children: list[Child] = []

    def start(*args: str) -> Child:
        children.append(Child(*args))
        return children[-1]

    yield start
    for child in children:
        child.stop(signal.SIGKILL)


@pytest.fixture
def sandbox_url(spawn: Callable[..., Child]) -> Iterator[str]:
    """A sandbox in its own process (rate limits on, as Klaviyo's), accepting only ``KEY``."""
    server = spawn("-m", "klaviyo_kit.sandbox", "--port", "0", "--seed", "4", "--api-key", KEY)
    banner = server.line()  # "Klaviyo sandbox (account …) listening on http://127.0.0.1:…"
    assert "listening on" in banner, server.stderr
    yield banner.rsplit(" ", 1)[-1].strip()
    assert server.stop() == 0, server.stderr


def stored_counts(url: str) -> Counter[int]:
    """Count the sandbox's events by their ``n`` property, through its HTTP API."""
    headers = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": SDK_REVISION}
    counts: Counter[int] = Counter()
    link: str | None = f"{url}/api/events?page[size]=1000"
    while link:
        response = httpx.get(link, headers=headers, timeout=10)
        response.raise_for_status()
        page = response.json()
        counts.update(e["attributes"]["event_properties"]["n"] for e in page["data"])
        link = page["links"].get("next")
    return counts


def events() -> list[Any]:
    items = [
        {"metric": "Crash Recovery", "profile": f"p{n % 40}@example.com", "properties": {"n": n}}
        for n in range(N)
    ]
    return [attributes for attributes, _ in prepare_events(items, datetime.now(timezone.utc))]


def test_a_worker_killed_mid_batch_loses_nothing_and_stores_nothing_twice(
    redis_server: RedisServer, sandbox_url: str, spawn: Callable[..., Child]
):
    worker = (str(WORKER), redis_server.url, f"crash-{uuid.uuid4().hex}", sandbox_url, KEY)
    settings = (str(BATCH), str(VISIBILITY))
    jobs = RedisQueue(redis_server.url, name=worker[2])
    for attributes in events():
        jobs.enqueue(attributes)

    first = spawn(*worker, *settings, str(FREEZE_AT))
    first.expect("started")
    frozen = first.expect("frozen")
    stored_at_kill = sum(stored_counts(sandbox_url).values())
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL, first.stderr

    acked = frozen["acked"]
    pending = jobs.size()
    assert acked == FREEZE_AT - 1
    assert pending == N - acked, "every unacked event is still in Redis"
    assert 0 < acked < stored_at_kill < N, "killed mid-batch: some stored, some stored unacked"

    restarted_at = time.time()
    second = spawn(*worker, *settings)
    second.expect("started")
    while jobs.size() > 0:
        assert time.time() - restarted_at < DEADLINE, f"{jobs.size()} events never delivered"
        time.sleep(0.02)
    drained_at = time.time()
    assert second.stop() == 0, second.stderr
    stats = second.expect("stopped")["stats"]
    assert "Traceback" not in second.stderr, second.stderr

    counts = stored_counts(sandbox_url)
    assert sorted(counts) == list(range(N)), f"lost: {sorted(set(range(N)) - set(counts))[:10]}"
    assert [n for n, k in counts.items() if k > 1] == [], "stored twice"
    assert jobs.dead_letters() == []
    assert stats["sent"] == pending, "the killed batch's stored events were sent again"
    assert stats["dead_lettered"] == 0
    # The killed batch came back no sooner than its visibility timeout allows, and the drain
    # ended within that timeout (plus the documented slack) of the restart.
    assert drained_at >= frozen["reserved_at"] + VISIBILITY - 0.001  # Redis time is in ms
    assert drained_at - restarted_at <= VISIBILITY + SLACK, drained_at - restarted_at
    jobs.close()
