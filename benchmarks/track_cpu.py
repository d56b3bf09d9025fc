"""The kit's CPU per event in ``track_many``, with a transport that answers at once.

Run: python -m benchmarks.track_cpu [--events 20000] [--rounds 5] [--quick]

Klaviyo is an ``httpx.MockTransport`` answering every bulk create with ``202`` and no body, so
what is measured is this process's CPU (``time.process_time``) for building, validating,
encoding and sending the requests. Three ways of sending the same events, in the same run:

- ``track_many``: the kit, rate limiter off (pacing is waiting, not CPU);
- the raw SDK: ``KlaviyoAPI.Events.bulk_create_events`` with the same finished bodies (its
  request models validated and dumped, its urllib3 replaced by the same transport);
- by hand: the same bodies encoded with ``json.dumps`` and POSTed with ``httpx`` (the floor).

Reported per path: median microseconds of CPU per event over ``--rounds`` rounds, events per
CPU-second, and the kit's ratio to each baseline. Goal (issue 12): at least 12,500 events per
CPU-second for ``track_many`` (Klaviyo's bulk ceiling of 2,500 events/s on at most 20% of a core).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks._report import Measure, add_json_option, emit
from klaviyo_kit import KlaviyoClient, KlaviyoSettings

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "pk_" + "c" * 34
GOAL = 12_500


def answer(request: httpx.Request) -> httpx.Response:
    """Klaviyo's answer to a bulk create: accepted, no body."""
    request.read()
    return httpx.Response(202, headers={"content-type": "application/vnd.api+json"})


def events(count: int) -> list[dict[str, Any]]:
    """Events as an application tracks them: 10 per profile, a value and two properties."""
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return [
        {
            "metric": "Placed Order",
            "profile": {"email": f"p{i // 10}@example.com"},
            "properties": {"sku": f"SKU-{i % 97}", "items": i % 5 + 1},
            "value": (i % 50) + 0.99,
            "time": start + timedelta(seconds=i),
            "unique_id": f"order-{i}",
        }
        for i in range(count)
    ]


def cpu(run: Callable[[], object]) -> float:
    """CPU seconds one call of ``run`` takes."""
    started = time.process_time()
    run()
    return time.process_time() - started


def main() -> None:
    """Measure the three paths and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a CI smoke: 2,000 events, 2 rounds")
    add_json_option(parser)
    options = parser.parse_args()
    count, rounds = (2_000, 2) if options.quick else (options.events, options.rounds)
    batch = events(count)
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    transport = httpx.MockTransport(answer)
    with KlaviyoClient(settings, transport=transport) as client:
        client.events.track_many(batch[:10])  # warm: imports, the SDK group, the models
        bodies: list[dict[str, Any]] = []

        def keep(request: httpx.Request) -> httpx.Response:
            bodies.append(json.loads(request.read()))
            return answer(request)

        with KlaviyoClient(settings, transport=httpx.MockTransport(keep)) as recorder:
            recorder.events.track_many(batch)
        sdk: Any = client.sdk.events  # given the dicts it documents it also takes
        kit = [cpu(lambda: client.events.track_many(batch)) for _ in range(rounds)]
        raw = [
            cpu(lambda: [sdk.bulk_create_events(body) for body in bodies]) for _ in range(rounds)
        ]
    with httpx.Client(transport=transport, base_url="https://a.klaviyo.com") as http:
        headers = {
            "Authorization": f"Klaviyo-API-Key {KEY}",
            "revision": settings.revision,
            "Content-Type": "application/vnd.api+json",
        }

        def by_hand() -> None:
            for body in bodies:
                content = json.dumps(body, separators=(",", ":")).encode()
                http.post("/api/event-bulk-create-jobs", content=content, headers=headers)

        floor = [cpu(by_hand) for _ in range(rounds)]
    per_event = {
        "track_many (kit)": statistics.median(kit) / count,
        "client.sdk bulk_create_events": statistics.median(raw) / count,
        "by hand (json + httpx)": statistics.median(floor) / count,
    }
    print(f"track_many CPU, {count:,} events in {len(bodies)} requests, {rounds} rounds (median)")
    for label, seconds in per_event.items():
        print(f"  {label:<32}{seconds * 1e6:8.1f} us/event {1 / seconds:>10,.0f} events/CPU-s")
    mine = per_event["track_many (kit)"]
    print(f"  kit / SDK path: {mine / per_event['client.sdk bulk_create_events']:.2f}x")
    print(f"  kit / by hand:  {mine / per_event['by hand (json + httpx)']:.2f}x")
    met = "met" if 1 / mine >= GOAL else "not met"
    print(f"  goal >= {GOAL:,} events/CPU-s: {met}")
    emit(
        options.json,
        [
            Measure(
                "track_many, kit CPU per event (instant transport)",
                1 / mine,
                1 / per_event["by hand (json + httpx)"],
                "events/CPU-s",
                f">= {GOAL:,} events/CPU-s",
                1 / mine >= GOAL,
            )
        ],
    )


if __name__ == "__main__":
    main()
