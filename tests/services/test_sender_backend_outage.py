"""A sender whose Redis queue goes away: one warning, a backoff, no traceback, even at exit."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

import pytest

from klaviyo_kit.errors import BackendUnavailableError
from klaviyo_kit.infra import RedisQueue
from klaviyo_kit.services import EventSender

if TYPE_CHECKING:
    from tests._redis_server import RedisServer

pytestmark = pytest.mark.redis


def test_the_worker_warns_once_per_outage_and_recovers(redis_server: RedisServer, caplog):
    sent: list[object] = []
    queue = RedisQueue(redis_server.url, name="outage")
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit"):
        sender = EventSender(sent.append, queue, linger=0, limits=None)
        redis_server.stop()
        time.sleep(2.5)  # several reserve attempts fail while it is down
        with pytest.raises(BackendUnavailableError):
            sender.track("Clicked", "ada@example.com")
        redis_server.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                sender.track("Clicked", "ada@example.com")
                break
            except BackendUnavailableError:
                time.sleep(0.1)
        assert sender.flush(timeout=20)
        sender.close()
    assert len(sent) == 1
    outage = [r for r in caplog.records if "retrying with backoff" in r.getMessage()]
    assert len(outage) == 1
    assert all(r.exc_info is None for r in caplog.records)  # warnings, not tracebacks
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_exit_after_an_outage_prints_no_traceback(redis_server: RedisServer):
    script = textwrap.dedent(
        f"""
        import os, signal
        from klaviyo_kit.infra import RedisQueue
        from klaviyo_kit.services import EventSender

        sender = EventSender(lambda body: None, RedisQueue({redis_server.url!r}), limits=None)
        sender.track("Clicked", "ada@example.com")
        os.kill(os.getpid(), signal.SIGSTOP)  # the test stops Redis, then resumes us
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stderr=subprocess.PIPE,
        text=True,
    )
    # The child stops itself; resume it once Redis is gone, so its atexit close meets the outage.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _state(child.pid) != "T":
        time.sleep(0.05)
    assert _state(child.pid) == "T"
    redis_server.stop()
    subprocess.run(["kill", "-CONT", str(child.pid)], check=True)  # noqa: S607
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "event sender closed without draining its queue" in stderr


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:  # noqa: PTH123 - one line of procfs
        return stat.read().rsplit(")", 1)[1].split()[0]
