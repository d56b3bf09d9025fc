"""``sender.track`` on the request path beside segment's ``analytics.track``, in one run.

Run: python -m benchmarks.track_latency [--events 20000] [--rounds 5]

Both validate an event and put it on an in-memory queue for a background thread; the time a
web request spends in the call is what is measured (per call, ``perf_counter_ns``). The kit's
sender delivers while it is measured, to an instant transport (so its worker thread competes
for the interpreter as it does in production); segment's client is built with ``send=False``
(it validates and queues the same way, its consumer thread idle), which favours the baseline.
Without the ``bench`` extra (``segment-analytics-python``) only the kit is measured.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks._report import Measure, add_json_option, emit
from klaviyo_kit import KlaviyoClient, KlaviyoSettings

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "pk_" + "t" * 34
P99_GOAL_US = 100


def answer(request: httpx.Request) -> httpx.Response:
    """Klaviyo's answer to a bulk create, at once."""
    return httpx.Response(202, request=request)


def latencies(track: Callable[[int], object], count: int) -> list[float]:
    """Microseconds each of ``count`` calls took."""
    out: list[float] = []
    clock = time.perf_counter_ns
    for i in range(count):
        started = clock()
        track(i)
        out.append((clock() - started) / 1000)
    return out


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def kit_rounds(count: int, rounds: int) -> list[list[float]]:
    """Rounds of ``sender.track`` latencies, the sender delivering meanwhile."""
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    samples = []
    with KlaviyoClient(settings, transport=httpx.MockTransport(answer)) as client:
        sender = client.events.background()
        try:
            props: dict[str, Any] = {"path": "/checkout", "plan": "pro"}

            def track(i: int) -> object:
                return sender.track("Viewed Page", f"p{i % 500}@example.com", props, value=1.0)

            latencies(track, 1000)  # warm
            samples = [latencies(track, count) for _ in range(rounds)]
        finally:
            sender.close(timeout=30)
    return samples


def segment_rounds(count: int, rounds: int) -> list[list[float]] | None:
    """Rounds of segment's ``track`` latencies, or ``None`` without the library."""
    try:
        from segment.analytics.client import (  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: PLC0415 - optional baseline
            Client,
        )
    except ImportError:
        return None
    client = Client("bench-write-key", send=False, max_queue_size=10 * count * rounds)
    props: dict[str, Any] = {"path": "/checkout", "plan": "pro", "value": 1.0}

    def track(i: int) -> object:
        return client.track(
            user_id=f"p{i % 500}@example.com", event="Viewed Page", properties=props
        )

    latencies(track, 1000)
    return [latencies(track, count) for _ in range(rounds)]


def main() -> None:
    """Measure both and print the percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smoke: 2,000 events, 2 rounds")
    add_json_option(parser)
    options = parser.parse_args()
    count, rounds = (2_000, 2) if options.quick else (options.events, options.rounds)
    kit = kit_rounds(count, rounds)
    segment = segment_rounds(count, rounds)
    kit_p50 = statistics.median(percentile(r, 0.5) for r in kit)
    kit_p99 = statistics.median(percentile(r, 0.99) for r in kit)
    print(f"track on the request path, {count:,} calls x {rounds} rounds (median of rounds)")
    print(f"  kit sender.track         p50 {kit_p50:6.1f} us   p99 {kit_p99:6.1f} us")
    measures = [
        Measure(
            "sender.track p99 while sending",
            kit_p99,
            None,
            "us",
            f"<= {P99_GOAL_US} us",
            kit_p99 <= P99_GOAL_US,
        )
    ]
    if segment is not None:
        seg_p50 = statistics.median(percentile(r, 0.5) for r in segment)
        seg_p99 = statistics.median(percentile(r, 0.99) for r in segment)
        print(f"  segment analytics.track  p50 {seg_p50:6.1f} us   p99 {seg_p99:6.1f} us")
        print(f"  p50 ratio: {kit_p50 / seg_p50:.2f}x (goal <= 1.0x)")
        measures.insert(
            0,
            Measure(
                "sender.track p50", kit_p50, seg_p50, "us", "<= segment's track", kit_p50 <= seg_p50
            ),
        )
    else:
        print("  segment-analytics-python is not installed (pip install -e '.[bench]')")
    emit(options.json, measures)


if __name__ == "__main__":
    main()
