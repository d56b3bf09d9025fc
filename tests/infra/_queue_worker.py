"""Child process for the crash test: a RedisQueue worker.

Usage: python _queue_worker.py URL PREFIX MODE COUNT VISIBILITY
``hold``: reserve COUNT items, print them as one JSON line, then hang until killed.
``drain``: reserve and ack until COUNT items were acked, then print what was acked.
"""

from __future__ import annotations

import json
import sys
import time

from klaviyo_kit.infra import RedisQueue


def main() -> None:
    url, prefix, mode, count, visibility = sys.argv[1:6]
    queue = RedisQueue(url, prefix=prefix, poll_interval=0.02)
    if mode == "hold":
        items = queue.reserve(visibility_timeout=float(visibility), max_items=int(count))
        print(json.dumps([[i.id, i.attempts] for i in items]), flush=True)  # noqa: T201
        while True:
            time.sleep(60)
    acked: list[list[object]] = []
    deadline = time.monotonic() + 60
    while len(acked) < int(count) and time.monotonic() < deadline:
        items = queue.reserve(visibility_timeout=float(visibility), max_items=5, wait=5)
        acked.extend([item.id, item.attempts, queue.ack(item.receipt)] for item in items)
    print(json.dumps(acked), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
