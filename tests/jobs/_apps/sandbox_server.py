"""Serve a sandbox that counts its answers: ``python tests/jobs/_apps/sandbox_server.py OUT``.

Prints ``url`` on its first line; on SIGTERM writes ``{"statuses": {...}, "events": n}`` to OUT
(``events``: distinct ``unique_id`` values accepted by bulk create) and exits.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import Counter
from typing import Any

from klaviyo_kit.sandbox import Sandbox


class CountingSandbox(Sandbox):
    """A sandbox that counts statuses and the events its bulk creates accepted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses: Counter[int] = Counter()
        self.unique_ids: set[str] = set()
        self.lock = threading.Lock()

    def exchange(
        self, method: str, path: str, query: str, headers: Any, body: bytes, **kw: Any
    ) -> Any:
        outcome = super().exchange(method, path, query, headers, body, **kw)
        if outcome.response is None:
            return outcome
        status = outcome.response.status
        with self.lock:
            self.statuses[status] += 1
            if "bulk-create" in path and status < 300:
                document = json.loads(body)
                for entry in document["data"]["attributes"]["events-bulk-create"]["data"]:
                    events = entry["attributes"]["events"]["data"]
                    self.unique_ids.update(e["attributes"]["unique_id"] for e in events)
        return outcome


def main() -> int:
    out = sys.argv[1]
    sandbox = CountingSandbox(seed=1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with sandbox.serve("127.0.0.1", 0) as server:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        stop.wait()
    with sandbox.lock:
        counts = {"statuses": dict(sandbox.statuses), "events": len(sandbox.unique_ids)}
    with open(out, "w", encoding="utf-8") as file:  # noqa: PTH123
        json.dump(counts, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
