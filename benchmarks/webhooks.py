"""Webhook throughput: verifications and dispatches per second, 1-event and 1,000-event deliveries.

Each rate is printed beside a baseline measured in the same run, so the ratio (not the absolute
number, which depends on the machine) is what to compare:

- verify baseline: ``standardwebhooks``' verify of the same body (the ``bench`` extra), which
  also parses the JSON; without it, the bare recipe (one HMAC-SHA256 hexdigest + ``json.loads``);
- dispatch baseline: calling the handler once per event in a plain loop (no dedupe, no report);
  the router is measured with the in-memory ledger and with a SQLite-file ledger.

Run: ``python -m benchmarks.webhooks [--seconds 1.0] [--postgres URL]``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from benchmarks._report import Measure, add_json_option, emit
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
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQL_GOALS_MS = {"SQLite": 20, "PostgreSQL": 50}
"""Issue 12's goals for dispatching a 1,000-event delivery, by ledger."""


def _standard() -> Callable[[bytes], Callable[[], object]] | None:
    """``standardwebhooks``' verify of a body signed its way (the ``bench`` extra), or ``None``."""
    try:
        from standardwebhooks.webhooks import (  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: PLC0415 - optional baseline
            Webhook,
        )
    except ImportError:
        return None
    secret = "whsec_" + base64.b64encode(SECRET.encode()).decode()
    hook = Webhook(secret)

    def prepare(body: bytes) -> Callable[[], object]:
        stamp = datetime.now(tz=timezone.utc)
        signature = hook.sign("msg_1", stamp, body.decode())
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signature,
        }
        return lambda: hook.verify(body, headers)

    return prepare


standard_verify = _standard()
BASELINE = "standardwebhooks" if standard_verify is not None else "hmac + json.loads"
GOAL_SIZE = 1000
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
    parser.add_argument("--quick", action="store_true", help="a smoke: 0.2 s per measurement")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("KLAVIYO_KIT_TEST_POSTGRES_URL", POSTGRES),
        help="also measure a PostgreSQL ledger here ('' to skip)",
    )
    add_json_option(parser)
    options = parser.parse_args()
    seconds = 0.2 if options.quick else options.seconds
    print(f"verify baseline: {BASELINE}")
    print(f"{'measurement':<34}{'per second':>14}{'baseline/s':>14}{'ratio':>8}")
    measures: list[Measure] = []
    for size in (1, 1000):
        body, headers = delivery(size)
        measures.append(verify_measure(size, body, headers, seconds))
        measures.extend(dispatch_measures(size, body, headers, seconds, options.postgres))
    emit(options.json, measures)


def show(label: str, mine: float, base: float, size: int | None = None) -> None:
    """Print one row of the table (and the events per second of a dispatch)."""
    print(f"{label:<34}{mine:>14,.0f}{base:>14,.0f}{mine / base:>8.2f}")
    if size is not None:
        print(f"{'  = events dispatched per second':<34}{mine * size:>14,.0f}")


def verify_measure(size: int, body: bytes, headers: dict[str, str], seconds: float) -> Measure:
    """Verify a delivery, beside ``standardwebhooks`` (or the bare recipe)."""
    verifier = WebhookVerifier(SECRET)
    key, stamp = SECRET.encode(), headers["Klaviyo-Timestamp"].encode()

    def bare() -> object:
        mac = hmac.new(key, body, hashlib.sha256)
        mac.update(stamp)
        return mac.hexdigest(), json.loads(body)

    base = rate(standard_verify(body) if standard_verify is not None else bare, seconds)
    mine = rate(lambda: verifier.verify(body, headers), seconds)
    show(f"verify {size}-event delivery ({len(body) // 1024} KiB)", mine, base)
    return Measure(
        f"webhook verify, {size}-event delivery",
        mine,
        base,
        "deliveries/s",
        f">= 1.0x {BASELINE}",
        mine >= base,
    )


def dispatch_measures(
    size: int, body: bytes, headers: dict[str, str], seconds: float, postgres: str
) -> list[Measure]:
    """Dispatch a verified delivery: in-memory, SQLite and PostgreSQL ledgers vs a plain loop."""
    verified = WebhookVerifier(SECRET).verify(body, headers)
    seen: list[str] = []

    def handler(event: WebhookEvent) -> None:
        seen.append(event.external_id)

    def loop() -> None:
        for event in verified.events:
            handler(event)
        seen.clear()

    def dispatch() -> None:
        router = WebhookRouter(MemoryStateStore())  # fresh ledger: nothing is a duplicate
        router.add("event:klaviyo.*", handler)
        router.dispatch(verified)
        seen.clear()

    base, mine = rate(loop, seconds), rate(dispatch, seconds)
    show(f"dispatch {size}-event delivery", mine, base, size)
    measures: list[Measure] = []
    with tempfile.TemporaryDirectory() as folder:
        ledgers = {"SQLite": f"sqlite:///{folder}/ledger.sqlite3"}
        if postgres:
            ledgers["PostgreSQL"] = postgres
        for kind, url in ledgers.items():
            try:
                store = SQLStateStore(url)
                store.get_cursor("benchmark")
            except Exception as exc:  # noqa: BLE001 - a ledger this machine lacks
                print(f"  {kind} ledger skipped: {type(exc).__name__}")
                continue
            mine = sql_rate(verified, store, handler, seen, seconds)
            store.close()
            show(f"  with a {kind} ledger", mine, base, size)
            if size == GOAL_SIZE:
                goal = SQL_GOALS_MS[kind]
                measures.append(
                    Measure(
                        f"dispatch a 1,000-event delivery, {kind} ledger",
                        1000 / mine,
                        None,
                        "ms/delivery",
                        f"<= {goal} ms",
                        1000 / mine <= goal,
                    )
                )
    return measures


def sql_rate(
    verified: WebhookDelivery,
    store: SQLStateStore,
    handler: Callable[[WebhookEvent], None],
    seen: list[str],
    seconds: float,
) -> float:
    """Deliveries per second dispatched with ``store`` as the ledger (every claim a first)."""
    runs = itertools.count()
    prefix = f"WH{time.time_ns()}-"  # a PostgreSQL ledger outlives the run

    def sql_dispatch() -> None:
        # A new delivery id each run, so every claim is a first claim.
        fresh = replace(verified, delivery_id=f"{prefix}{next(runs)}")
        events = tuple(replace(e, delivery_id=fresh.delivery_id) for e in verified.events)
        router = WebhookRouter(store)
        router.add("event:klaviyo.*", handler)
        router.dispatch(replace(fresh, events=events))
        seen.clear()

    return rate(sql_dispatch, seconds)


if __name__ == "__main__":
    main()
