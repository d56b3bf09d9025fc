"""Event ingest: ``track`` one by one vs ``track_many`` vs background mode, under Klaviyo's limits.

Run: python -m benchmarks.ingest [--events 20000] [--one-scale 10] [--bulk-scale 1]

Each path sends the same events to its own in-process :class:`~klaviyo_kit.sandbox.Sandbox` that
enforces Klaviyo's real per-operation windows, run ``--*-scale`` times faster
(``Sandbox(time_scale=...)``): ``create_event`` allows 350/s burst and 3,500/min steady,
``bulk_create_events`` 10/s and 150/min with up to 1,000 events each. Rates are printed in
*Klaviyo seconds* (wall-clock seconds x scale), so they compare with the published ceilings
whatever the scale.

What is measured, honestly:

- Every client paces itself with the kit's rate limiter, its windows scaled like the sandbox's
  (``MemoryRateLimiter(burst_window=1/scale, steady_window=60/scale)``), and retries through the
  pipeline; the sandbox's 429s (which a well-paced client should never earn) are counted by a hook
  and printed. The background sender relies on the same pipeline.
- Everything runs in one process: no network round trip (a real one adds ~50-200 ms per
  request, which would hurt the one-by-one path most), but the SDK's request serialization and
  the sandbox's own work share this machine's CPU. When a path saw no 429 it was CPU-bound, and
  its Klaviyo-seconds rate is a lower bound of what the limits allow.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.operations import operation_limits
from klaviyo_kit.resilience import BaseHooks, MemoryRateLimiter, RequestEnd
from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from pydantic import JsonValue

    from klaviyo_kit.services import SenderStats

KEY = "pk_" + "b" * 34
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
PER_BULK = 1000


def make_events(count: int) -> list[dict[str, JsonValue]]:
    """Return ``count`` distinct events across 500 profiles, each with a fixed time."""
    return [
        {
            "metric": "Viewed Product",
            "profile": {"email": f"shopper{i % 500}@example.com"},
            "properties": {"ProductID": f"p{i % 97}", "Price": 9.99, "n": i},
            "value": 9.99,
            "time": (START + timedelta(milliseconds=i)).isoformat(),
        }
        for i in range(count)
    ]


class Refusals(BaseHooks):
    """Counts the 429s the sandbox answered (a paced client should see none)."""

    def __init__(self) -> None:
        """Start at zero."""
        self.count = 0

    def on_request_end(self, event: RequestEnd) -> None:
        """Count a throttled attempt."""
        if event.status == 429:
            self.count += 1


def client_for(sandbox: Sandbox, scale: float, refusals: Refusals) -> KlaviyoClient:
    """Return a client talking to ``sandbox`` in process, its limiter scaled like the sandbox."""
    settings = KlaviyoSettings(private_key=KEY)
    limiter = MemoryRateLimiter(
        settings.account_fingerprint, burst_window=1 / scale, steady_window=60 / scale
    )
    return KlaviyoClient(
        settings, transport=sandbox.transport(), limiter=limiter, hooks=(refusals,)
    )


def one_by_one(events: list[dict[str, JsonValue]], scale: float) -> tuple[float, int]:
    """Send every event with ``track``; return wall seconds and 429s."""
    sandbox = Sandbox(seed=1, time_scale=scale)
    refused = Refusals()
    with client_for(sandbox, scale, refused) as client:
        start = time.perf_counter()
        for event in events:
            client.events.track_event(event)
        elapsed = time.perf_counter() - start
    assert len(sandbox.account.events) == len(events), "every event stored once"  # noqa: S101
    return elapsed, refused.count


def bulk(events: list[dict[str, JsonValue]], scale: float) -> tuple[float, int]:
    """Send the events with ``track_many``, 1,000 per call; return wall seconds and 429s."""
    sandbox = Sandbox(seed=1, time_scale=scale)
    refused = Refusals()
    with client_for(sandbox, scale, refused) as client:
        start = time.perf_counter()
        for first in range(0, len(events), PER_BULK):
            client.events.track_many(events[first : first + PER_BULK])
        elapsed = time.perf_counter() - start
    assert len(sandbox.account.events) == len(events), "every event stored once"  # noqa: S101
    return elapsed, refused.count


def background(
    events: list[dict[str, JsonValue]], scale: float
) -> tuple[float, float, SenderStats, int]:
    """Queue the events with a background sender and flush; return wall s, enqueue s, stats, 429s.

    The pipeline retries a 429 itself, so the sender's ``retried`` count never sees one: the
    refusals are counted by the same hook as the other paths.
    """
    sandbox = Sandbox(seed=1, time_scale=scale)
    refused = Refusals()
    with client_for(sandbox, scale, refused) as client:
        sender = client.events.background(linger=0.05, close_timeout=600)
        start = time.perf_counter()
        for event in events:
            sender.track_event(event)
        enqueued = time.perf_counter() - start
        if not sender.flush(timeout=600):
            raise SystemExit("the background sender did not drain in 600 s")
        elapsed = time.perf_counter() - start
        stats = sender.stats
        sender.close()
    assert len(sandbox.account.events) == len(events), "every event stored once"  # noqa: S101
    return elapsed, enqueued, stats, refused.count


def ceiling(operation: str, requests: int, per_request: int) -> float:
    """Events per Klaviyo second the operation's published limits allow on average.

    A run of at most ``steady`` requests fits one minute and is bound by the burst window
    (``burst`` per second); a longer one by the steady window (``steady`` per 60 s). Klaviyo's
    windows are fixed, not sliding, so a run that starts late in a minute window can beat the
    steady average by up to one window's worth of requests (over 100% here is that, not a leak).
    """
    limits = operation_limits(operation)
    per_second = limits.burst if requests <= limits.steady else limits.steady / 60
    return per_second * per_request


def line(name: str, count: int, *, wall: float, scale: float, limit: float, bound: str) -> float:
    """Print one result; return events per Klaviyo second."""
    rate = count / (wall * scale)
    print(
        f"{name:<27} {wall:>7.2f} s wall x{scale:<4g} {rate:>9,.1f} ev/s  "
        f"ceiling {limit:>8,.1f}  {rate / limit:>6.1%}  {bound}"
    )
    return rate


def bound_by(refused: int, what: str = "429s") -> str:
    """Say whether the limits or the CPU bounded a run."""
    if refused:
        return f"{refused} {what}"
    return "no 429s"


def main() -> None:
    """Run the three paths and print their rates and the fractions of the ceilings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--one-scale", type=float, default=10.0, help="time_scale, one by one")
    parser.add_argument("--bulk-scale", type=float, default=1.0, help="time_scale, batched")
    args = parser.parse_args()
    events = make_events(args.events)
    requests = -(-args.events // PER_BULK)
    one_limit = ceiling("create_event", args.events, 1)
    bulk_limit = ceiling("bulk_create_events", requests, PER_BULK)
    print(f"{args.events:,} events; rates in events per Klaviyo second (wall s x time_scale)")

    wall, refused = one_by_one(events, args.one_scale)
    bound = bound_by(refused)
    one = line(
        "track, one by one",
        args.events,
        wall=wall,
        scale=args.one_scale,
        limit=one_limit,
        bound=bound,
    )
    per_call = wall / args.events
    wall, refused = bulk(events, args.bulk_scale)
    bound = bound_by(refused)
    many = line(
        "track_many, 1,000 per call",
        args.events,
        wall=wall,
        scale=args.bulk_scale,
        limit=bulk_limit,
        bound=bound,
    )
    wall, enqueued, stats, refused = background(events, args.bulk_scale)
    bound = bound_by(refused)
    queued = line(
        "background, queue + flush",
        args.events,
        wall=wall,
        scale=args.bulk_scale,
        limit=bulk_limit,
        bound=bound,
    )

    print(f"batched / one by one: track_many {many / one:,.0f}x, background {queued / one:,.0f}x")
    print(
        f"request path: sender.track {enqueued / args.events * 1e6:,.0f} us per event vs "
        f"track {per_call * 1e3:,.2f} ms in process (plus a network round trip in production)"
    )
    print(
        f"background sender: {stats.requests} requests, {stats.paced:.2f} s paced, "
        f"{stats.retried} events put back on the queue, {stats.dead_lettered} dead-lettered"
    )


if __name__ == "__main__":
    main()
