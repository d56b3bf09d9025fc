"""A worker killed with SIGKILL loses nothing: its reserved items go to the next worker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("_queue_worker.py")
ITEMS = 20
HELD = 8
VISIBILITY = "1.0"


def _worker(redis_url: str, prefix: str, mode: str, count: int) -> subprocess.Popen[str]:
    command = [sys.executable, str(WORKER), redis_url, prefix, mode, str(count), VISIBILITY]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


@pytest.mark.redis
def test_sigkilled_worker_items_are_redelivered_and_acked_once(redis_url, unique, redis_cleanup):
    from klaviyo_kit.infra import RedisQueue

    redis_cleanup(f"{{{unique}")
    queue = RedisQueue(redis_url, prefix=unique)
    ids = [queue.enqueue({"n": n}) for n in range(ITEMS)]

    holder = _worker(redis_url, unique, "hold", HELD)
    assert holder.stdout is not None
    held = json.loads(holder.stdout.readline())
    assert len(held) == HELD
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=30) == -signal.SIGKILL
    assert queue.size() == ITEMS, "the dead worker's items are still in Redis"

    drainer = _worker(redis_url, unique, "drain", ITEMS)
    out, _ = drainer.communicate(timeout=120)
    assert drainer.returncode == 0
    acked = json.loads(out)

    assert Counter(item_id for item_id, _, _ in acked) == Counter(ids), "each item exactly once"
    assert all(ok for _, _, ok in acked), "every ack was accepted"
    attempts = {item_id: n for item_id, n, _ in acked}
    assert {item_id: attempts[item_id] for item_id, _ in held} == dict.fromkeys(
        (item_id for item_id, _ in held), 2
    ), "the held items came back after the visibility timeout"
    assert queue.size() == 0
    assert queue.dead_letters() == []
    queue.close()
