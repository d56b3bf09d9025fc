"""Child process for the crash test: an ``EventSender`` draining a ``RedisQueue`` into a sandbox.

Usage: ``python _worker.py REDIS_URL QUEUE SANDBOX_URL KEY BATCH VISIBILITY [FREEZE_AT]``

It prints one JSON line per moment the test waits for, on stdout:

- ``{"event": "started"}`` once the sender's thread runs;
- with ``FREEZE_AT``: ``{"event": "frozen", "acked": k, "reserved_at": t}`` when the sender
  calls ``ack`` for the ``FREEZE_AT``-th time. That ack never happens: the thread blocks, the
  batch it was acking is stored in the sandbox but partly unacked, and the test SIGKILLs the
  process there (a crash between the bulk request and its acks, at a known point rather than
  a lucky one). ``reserved_at`` is the wall-clock time just before that batch was reserved;
- on SIGTERM: the sender is closed (flushing), then ``{"event": "stopped", "stats": {...}}``.

Warnings of the kit go to stderr.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import RedisQueue

if TYPE_CHECKING:
    from klaviyo_kit.infra import Reserved


def say(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class FreezingQueue(RedisQueue):
    """A ``RedisQueue`` whose ``freeze_at``-th ack blocks forever, as if the process hung."""

    def __init__(self, url: str, *, name: str, freeze_at: int) -> None:
        super().__init__(url, name=name)
        self._freeze_at = freeze_at
        self._acks = 0
        self._reserved_at = 0.0

    def reserve(
        self, *, visibility_timeout: float, max_items: int = 1, wait: float = 0
    ) -> list[Reserved]:
        started = time.time()
        items = super().reserve(
            visibility_timeout=visibility_timeout, max_items=max_items, wait=wait
        )
        if items:
            self._reserved_at = started  # the reservation was made at or after this moment
        return items

    def ack(self, receipt: str) -> bool:
        self._acks += 1
        if self._acks == self._freeze_at:
            say("frozen", acked=self._acks - 1, reserved_at=self._reserved_at)
            threading.Event().wait()  # until SIGKILL
        return super().ack(receipt)


def main() -> int:
    redis_url, name, sandbox_url, key, batch, visibility, *freeze = sys.argv[1:]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    queue = (
        FreezingQueue(redis_url, name=name, freeze_at=int(freeze[0]))
        if freeze
        else RedisQueue(redis_url, name=name)
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    settings = KlaviyoSettings(private_key=key, base_url=sandbox_url)
    with KlaviyoClient(settings) as client:
        sender = client.events.background(
            queue, batch_size=int(batch), linger=0, visibility_timeout=float(visibility)
        )
        say("started")
        stop.wait()
        sender.close()
    say("stopped", stats=dataclasses.asdict(sender.stats))
    queue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
