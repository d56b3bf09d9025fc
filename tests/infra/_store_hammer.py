"""Child process for the store concurrency test: 8 threads race on one SQL state store.

Usage: python _store_hammer.py URL TABLE_PREFIX WORKER_NO ROUNDS. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timedelta, timezone

from klaviyo_kit.infra import SQLStateStore

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
THREADS = 8


def main() -> None:
    url, prefix, worker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = SQLStateStore(url, table_prefix=prefix)
    start = threading.Barrier(THREADS)
    results: dict[str, dict[str, list[object]]] = {}

    def run(thread: int) -> None:
        me = f"{worker}.{thread}"
        claimed: list[object] = []
        marks: list[object] = []
        synced: list[object] = []
        start.wait()
        for i in range(rounds):
            if store.claim_delivery(f"delivery-{i}", ttl=3600):
                claimed.append(i)
            # a unique microsecond per (worker, thread, round): exactly one call holds the max
            micros = (i * 1000 + worker * 100 + thread) * 1000
            value = BASE + timedelta(microseconds=micros)
            stored = store.advance_watermark("wm", value)
            marks.append([micros, int((stored - BASE) / timedelta(microseconds=1))])
            won = store.record_sync("profile", f"p{i % 5}", updated_at=value, source=me)
            synced.append([i % 5, micros, won])
        results[me] = {"claimed": claimed, "marks": marks, "synced": synced}

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
