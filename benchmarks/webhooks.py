"""Webhook throughput: verifications and dispatches per second, 1-event and 1,000-event deliveries.

Each rate is printed beside a baseline measured in the same run, so the ratio (not the absolute
number, which depends on the machine) is what to compare:

- verify baseline: the bare recipe (one HMAC-SHA256 hexdigest + ``json.loads``);
- dispatch baseline: calling the handler once per event in a plain loop (no dedupe, no report);
  the router is measured with the in-memory ledger and with a SQLite-file ledger.

Run: ``python benchmarks/webhooks.py [--seconds 1.0]``
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from klaviyo_kit.infra import MemoryStateStore, SQLStateStore
from klaviyo_kit.webhooks import (
    WebhookDelivery,
    WebhookEvent,
    WebhookRouter,
    WebhookVerifier,
    build_delivery,
    sign_webhook,
)

if TYPE_CHECKING:
    from collections.abc import Callable

SECRET = "benchmark-signing-secret"  # noqa: S105 - a benchmark fixture
NOW = datetime.now(tz=timezone.utc)


def rate(action: Callable[[], object], seconds: float) -> float:
    """Return how many times per second ``action`` runs, measured for about ``seconds``."""
    action()
    runs, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        action()
        runs += 1
    return runs / elapsed


def delivery(size: int) -> tuple[bytes, dict[str, str]]:
    """A signed delivery of ``size`` 'opened email' events in Klaviyo's shape."""
    events = [
        {
            "topic": "event:klaviyo.opened_email",
            "external_id": f"EV{i:06d}",
            "payload": {
                "data": {
                    "type": "event",
                    "id": f"EV{i:06d}",
                    "attributes": {
                        "datetime": NOW.isoformat(),
                        "event_properties": {"Subject": "Hello", "$message": "MSG1"},
                    },
                    "relationships": {"profile": {"data": {"type": "profile", "id": f"P{i}"}}},
                }
            },
        }
        for i in range(size)
    ]
    signed = sign_webhook(build_delivery(events, webhook_id="WH1", sent_at=NOW), secret=SECRET)
    return signed.body, dict(signed.headers)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    seconds = parser.parse_args().seconds
    verifier = WebhookVerifier(SECRET)
    key = SECRET.encode()
    print(f"{'measurement':<34}{'per second':>14}{'baseline/s':>14}{'ratio':>8}")
    for size in (1, 1000):
        body, headers = delivery(size)
        stamp = headers["Klaviyo-Timestamp"].encode()

        def bare(body: bytes = body, stamp: bytes = stamp) -> object:
            mac = hmac.new(key, body, hashlib.sha256)
            mac.update(stamp)
            return mac.hexdigest(), json.loads(body)

        def ours(body: bytes = body, headers: dict[str, str] = headers) -> object:
            return verifier.verify(body, headers)

        base, mine = rate(bare, seconds), rate(ours, seconds)
        label = f"verify {size}-event delivery ({len(body) // 1024} KiB)"
        print(f"{label:<34}{mine:>14,.0f}{base:>14,.0f}{mine / base:>8.2f}")

        verified = verifier.verify(body, headers)
        seen: list[str] = []

        def handler(event: WebhookEvent, seen: list[str] = seen) -> None:
            seen.append(event.external_id)

        def loop(verified: WebhookDelivery = verified, seen: list[str] = seen) -> None:
            for event in verified.events:
                handler(event)
            seen.clear()

        def dispatch(verified: WebhookDelivery = verified, seen: list[str] = seen) -> None:
            router = WebhookRouter(MemoryStateStore())  # fresh ledger: nothing is a duplicate
            router.add("event:klaviyo.*", handler)
            router.dispatch(verified)
            seen.clear()

        base, mine = rate(loop, seconds), rate(dispatch, seconds)
        label = f"dispatch {size}-event delivery"
        print(f"{label:<34}{mine:>14,.0f}{base:>14,.0f}{mine / base:>8.2f}")
        print(f"{'  = events dispatched per second':<34}{mine * size:>14,.0f}")

        with tempfile.TemporaryDirectory() as folder:
            store = SQLStateStore(f"sqlite:///{folder}/ledger.sqlite3")
            runs = itertools.count()

            def sql_dispatch(
                verified: WebhookDelivery = verified,
                store: SQLStateStore = store,
                runs: itertools.count[int] = runs,
                seen: list[str] = seen,
            ) -> None:
                # A new delivery id each run, so every claim is a first claim.
                fresh = replace(verified, delivery_id=f"WH{next(runs)}")
                events = tuple(replace(e, delivery_id=fresh.delivery_id) for e in verified.events)
                router = WebhookRouter(store)
                router.add("event:klaviyo.*", handler)
                router.dispatch(replace(fresh, events=events))
                seen.clear()

            mine = rate(sql_dispatch, seconds)
            store.close()
        label = "  with a SQLite ledger (file)"
        print(f"{label:<34}{mine:>14,.0f}{base:>14,.0f}{mine / base:>8.2f}")
        print(f"{'  = events dispatched per second':<34}{mine * size:>14,.0f}")


if __name__ == "__main__":
    main()
