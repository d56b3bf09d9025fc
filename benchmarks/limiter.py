"""Rate-limiter benchmark: acquire overhead and the share of the steady ceiling reached.

Run: ``python -m benchmarks.limiter [--redis-url URL] [--seconds 6]``. Needs the Redis server.

Overheads are printed next to a baseline measured in the same run (an uncontended lock for the
memory limiter, a Redis ``PING`` for the Redis limiter), so the ratios mean the same on any
machine. The saturation runs use shortened windows (1 s burst, ``--seconds / 2`` steady) and
report granted permits divided by what the windows allow in the run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import threading
import time
import uuid
from typing import TYPE_CHECKING

import redis

from klaviyo_kit.operations import Limits
from klaviyo_kit.resilience import MemoryRateLimiter, RateLimiter, RedisRateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable

WIDE = Limits(10**6, 10**7)  # never binding: measures pure overhead
SATURATE = Limits(20, 60)  # 60 permits per steady window, at most 20 per second


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Return the mean wall time of ``fn()`` in microseconds over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def saturate(limiter: RateLimiter, seconds: float, start: float) -> int:
    """Acquire as fast as allowed from ``start`` for ``seconds``; return the permits granted."""
    time.sleep(max(0.0, start - time.time()))
    granted = 0
    while True:
        limiter.acquire("bench", limits=SATURATE)
        if time.time() >= start + seconds:
            return granted
        granted += 1


def _worker(
    url: str, prefix: str, seconds: float, start: float, out: multiprocessing.Queue[int]
) -> None:
    limiter = RedisRateLimiter(
        "bench", url=url, key_prefix=prefix, on_unavailable="closed", steady_window=seconds / 2
    )
    out.put(saturate(limiter, seconds, start))


def cleanup(url: str, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def main() -> None:
    """Measure overheads and saturation, then print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seconds", type=float, default=6.0, help="saturation run length")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per overhead sample")
    ns = parser.parse_args()
    prefix = f"kk-bench:{uuid.uuid4().hex}:"
    ceiling = SATURATE.steady * 2  # the run spans two steady windows

    lock = threading.Lock()

    def locked() -> None:
        with lock:
            pass

    memory = MemoryRateLimiter("bench")
    base_lock = per_call_us(locked, ns.calls)
    mem = per_call_us(lambda: memory.acquire("bench", limits=WIDE), ns.calls)
    print(
        f"memory acquire: {mem:8.2f} us/call  "
        f"({mem / base_lock:6.1f}x an uncontended lock, {base_lock:.2f} us)"
    )

    client = redis.Redis.from_url(ns.redis_url)
    shared = RedisRateLimiter("bench", client=client, key_prefix=prefix)
    try:
        redis_calls = max(1, ns.calls // 10)
        ping = per_call_us(client.ping, redis_calls)
        red = per_call_us(lambda: shared.acquire("bench", limits=WIDE), redis_calls)
        print(
            f"redis acquire:  {red:8.2f} us/call  ({red / ping:6.1f}x a Redis PING, {ping:.2f} us)"
        )
        cleanup(ns.redis_url, prefix)

        window = ns.seconds / 2
        mem_sat = MemoryRateLimiter("bench", steady_window=window)
        got = saturate(mem_sat, ns.seconds, time.time() + 0.2)
        print(f"memory, 1 process:  {got}/{ceiling} permits = {got / ceiling:.1%} of the ceiling")

        red_sat = RedisRateLimiter("bench", client=client, key_prefix=prefix, steady_window=window)
        got = saturate(red_sat, ns.seconds, time.time() + 0.2)
        print(f"redis, 1 process:   {got}/{ceiling} permits = {got / ceiling:.1%} of the ceiling")
        cleanup(ns.redis_url, prefix)

        ctx = multiprocessing.get_context("spawn")
        results: multiprocessing.Queue[int] = ctx.Queue()
        start = time.time() + 3.0
        procs = [
            ctx.Process(target=_worker, args=(ns.redis_url, prefix, ns.seconds, start, results))
            for _ in range(4)
        ]
        for proc in procs:
            proc.start()
        counts = [results.get(timeout=60 + ns.seconds) for _ in procs]
        for proc in procs:
            proc.join()
        got = sum(counts)
        print(
            f"redis, 4 processes: {got}/{ceiling} permits = {got / ceiling:.1%} of the ceiling "
            f"(per process: {counts})"
        )
    finally:
        cleanup(ns.redis_url, prefix)
        client.close()


if __name__ == "__main__":
    main()
