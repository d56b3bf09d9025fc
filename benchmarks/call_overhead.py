"""What the kit adds to one SDK call: over TCP against the raw SDK, and its own stages alone.

Run: python -m benchmarks.call_overhead [--calls 2000] [--rounds 5] [--quick]

1. ``client.sdk.profiles.get_profiles()`` against the raw SDK's
   ``KlaviyoAPI(...).Profiles.get_profiles()``, both over TCP to the same sandbox served on
   127.0.0.1 (rate limits off: pacing is waiting, not overhead), one page of 20 profiles.
   Reported: median microseconds per call over the rounds, and the ratio (goal: at most 1.5x).
2. The kit's own stages (retry, limiter, breaker, hooks, error translation and the answer
   check) around an SDK method that returns at once: ``client.pipeline.invoke`` with a function
   returning a cached document. Goal: at most 25 us per call.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING

from klaviyo_api import KlaviyoAPI

from benchmarks._report import Measure, add_json_option, emit
from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.operations import operation
from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "pk_" + "o" * 34


def per_call(run: Callable[[], object], calls: int, rounds: int) -> float:
    """Median seconds per call of ``run`` over ``rounds`` rounds of ``calls`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - started) / calls)
    return statistics.median(samples)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a CI smoke: 200 calls, 2 rounds")
    add_json_option(parser)
    options = parser.parse_args()
    calls, rounds = (200, 2) if options.quick else (options.calls, options.rounds)
    sandbox = Sandbox(seed=3, rate_limits=False)
    with sandbox.serve() as server:
        settings = KlaviyoSettings(
            private_key=KEY, base_url=server.url, rate_limit={"enabled": False}
        )
        with KlaviyoClient(settings) as client:
            for i in range(20):
                client.profiles.upsert({"email": f"p{i}@example.com"})
            raw = KlaviyoAPI(KEY, max_retries=0, test_host=server.url).Profiles
            kit = client.sdk.profiles
            raw.get_profiles()
            kit.get_profiles()  # warm both: connections, models
            raw_s = per_call(raw.get_profiles, calls, rounds)
            kit_s = per_call(kit.get_profiles, calls, rounds)
            document: dict[str, object] = {"data": [], "links": {}}
            op = operation("get_profiles")
            stages_s = per_call(
                lambda: client.pipeline.invoke(op, lambda: document, (), {}), calls * 10, rounds
            )
    print(f"per-call overhead, {calls:,} calls x {rounds} rounds (median)")
    print(f"  raw SDK get_profiles over TCP      {raw_s * 1e6:8.1f} us")
    print(f"  client.sdk get_profiles over TCP   {kit_s * 1e6:8.1f} us")
    ratio = kit_s / raw_s
    print(f"  ratio: {ratio:.2f}x (goal <= 1.5x): {'met' if ratio <= 1.5 else 'not met'}")
    print(
        f"  the kit's stages alone             {stages_s * 1e6:8.1f} us"
        f" (goal <= 25 us): {'met' if stages_s <= 25e-6 else 'not met'}"
    )
    emit(
        options.json,
        [
            Measure(
                "client.sdk.profiles.get_profiles() over TCP",
                kit_s * 1e6,
                raw_s * 1e6,
                "us/call",
                "<= 1.5x the raw SDK",
                ratio <= 1.5,
            ),
            Measure(
                "the kit's stages per call",
                stages_s * 1e6,
                None,
                "us/call",
                "<= 25 us",
                stages_s <= 25e-6,
            ),
        ],
    )


if __name__ == "__main__":
    main()
