from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest

from klaviyo_kit.errors import JobError, QueueFullError
from klaviyo_kit.infra import MemoryQueue, MemoryStateStore
from klaviyo_kit.webhooks import (
    EventStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookRouter,
    WebhookVerifier,
)


def verified(kit: Any, *events: dict[str, object]) -> WebhookDelivery:
    delivery = kit.signed(*events)
    return WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, delivery.headers)


def test_exact_and_pattern_handlers_all_run_in_registration_order(kit, store):
    router = WebhookRouter(store)
    calls: list[str] = []
    router.add("*", lambda e: calls.append(f"any:{e.external_id}"))
    router.add("event:klaviyo.opened_email", lambda e: calls.append(f"exact:{e.external_id}"))
    router.add("event:klaviyo.*", lambda e: calls.append(f"klaviyo:{e.external_id}"))
    router.add("event:shopify.*", lambda e: calls.append("never"))
    report = router.dispatch(
        verified(kit, kit.event(external_id="A"), kit.event("event:klaviyo.clicked_email", "B"))
    )
    assert calls == ["any:A", "exact:A", "klaviyo:A", "any:B", "klaviyo:B"]
    assert report.count(EventStatus.PROCESSED) == 2


def test_the_decorator_registers_and_returns_the_handler(kit, store):
    router = WebhookRouter(store)
    seen: list[WebhookEvent] = []

    @router.on("event:klaviyo.opened_email")
    def opened(event: WebhookEvent) -> None:
        seen.append(event)

    assert opened in router.handlers_for("event:klaviyo.opened_email")
    router.dispatch(verified(kit, kit.event()))
    assert len(seen) == 1


def test_an_event_without_handlers_is_unhandled_and_not_claimed(kit, store):
    router = WebhookRouter(store)
    delivery = verified(kit, kit.event("event:klaviyo.sent_sms", "S1"))
    report = router.dispatch(delivery)
    assert [r.status for r in report.results] == [EventStatus.UNHANDLED]
    assert not report.recorded  # nothing was claimed
    assert not report.failures
    assert store.claim_delivery(delivery.events[0].dedupe_key, ttl=60)


def test_a_handler_failure_in_event_3_of_5_leaves_the_others_processed(kit, any_store):
    router = WebhookRouter(any_store)
    done: list[str] = []

    @router.on("event:klaviyo.*")
    def handle(event: WebhookEvent) -> None:
        if event.external_id == "E3":
            raise RuntimeError("boom for E3")
        done.append(event.external_id)

    delivery = verified(kit, *(kit.event(external_id=f"E{i}") for i in range(1, 6)))
    report = router.dispatch(delivery)
    assert done == ["E1", "E2", "E4", "E5"]
    assert [r.status for r in report.results] == [
        EventStatus.PROCESSED,
        EventStatus.PROCESSED,
        EventStatus.FAILED,
        EventStatus.PROCESSED,
        EventStatus.PROCESSED,
    ]
    (failure,) = report.failures
    assert (failure.index, failure.external_id) == (2, "E3")
    assert isinstance(failure.error, RuntimeError)
    assert failure.message == "RuntimeError: boom for E3"
    # The failed event's claim was released: a redelivery retries exactly that event.
    done.clear()
    retry = router.dispatch(delivery)
    assert [r.status for r in retry.results].count(EventStatus.DUPLICATE) == 4
    assert retry.results[2].status is EventStatus.FAILED


def test_a_replayed_delivery_is_processed_once(kit, any_store):
    router = WebhookRouter(any_store)
    done: list[str] = []
    router.add("*", lambda e: done.append(e.external_id))
    delivery = verified(kit, kit.event(external_id="R1"), kit.event(external_id="R2"))
    first, second = router.dispatch(delivery), router.dispatch(delivery)
    assert done == ["R1", "R2"]
    assert not first.replayed
    assert second.replayed
    assert second.count(EventStatus.DUPLICATE) == 2


def test_the_same_event_through_another_webhook_is_its_own_delivery(kit, store):
    router = WebhookRouter(store)
    done: list[str] = []
    router.add("*", lambda e: done.append(e.delivery_id))
    item = kit.event(external_id="X1")
    for webhook_id in ("W-A", "W-B"):
        delivery = kit.signed(item, webhook_id=webhook_id)
        verifier = WebhookVerifier(kit.secret, clock=kit.clock)
        router.dispatch(verifier.verify(delivery.body, delivery.headers))
    assert done == ["W-A", "W-B"]


class BrokenLedger:
    def claim_delivery(self, key: str, *, ttl: float) -> bool:
        raise ConnectionError("database is down")

    def release_delivery(self, key: str) -> None:
        raise ConnectionError("database is down")

    def claim_deliveries(self, keys: Sequence[str], *, ttl: float) -> set[str]:
        raise ConnectionError("database is down")

    def keep_deliveries(self, keys: Sequence[str], *, ttl: float) -> None:
        raise ConnectionError("database is down")

    def release_deliveries(self, keys: Sequence[str]) -> None:
        raise ConnectionError("database is down")


def test_a_ledger_failure_fails_the_event_without_running_handlers(kit):
    router = WebhookRouter(BrokenLedger())
    done: list[str] = []
    router.add("*", lambda e: done.append(e.external_id))
    report = router.dispatch(verified(kit, kit.event()))
    assert done == []
    assert not report.recorded
    assert isinstance(report.failures[0].error, ConnectionError)


async def async_handler(done: list[str], event: WebhookEvent) -> None:
    await asyncio.sleep(0)
    done.append(f"async:{event.external_id}")


def test_async_handlers_run_from_sync_dispatch(kit, store):
    router = WebhookRouter(store)
    done: list[str] = []
    router.add("*", partial(async_handler, done))
    router.dispatch(verified(kit, kit.event(external_id="A1")))
    assert done == ["async:A1"]


def test_adispatch_mixes_sync_and_async_handlers_in_order(kit, store):
    router = WebhookRouter(store)
    done: list[str] = []
    router.add("*", partial(async_handler, done))
    router.add("*", lambda e: done.append(f"sync:{e.external_id}"))

    async def failing(event: WebhookEvent) -> None:
        if event.external_id == "B":
            raise ValueError("bad B")

    router.add("*", failing)
    delivery = verified(kit, kit.event(external_id="A"), kit.event(external_id="B"))
    report = asyncio.run(router.adispatch(delivery))
    assert done == ["async:A", "sync:A", "async:B", "sync:B"]
    assert [r.status for r in report.results] == [EventStatus.PROCESSED, EventStatus.FAILED]
    assert asyncio.run(router.adispatch(delivery)).results[0].status is EventStatus.DUPLICATE


def test_adispatch_with_only_sync_handlers_runs_them_off_the_loop(kit, store):
    router = WebhookRouter(store)
    done: list[str] = []
    router.add("*", lambda e: done.append(e.external_id))
    report = asyncio.run(router.adispatch(verified(kit, kit.event(external_id="T"))))
    assert done == ["T"]
    assert report.count(EventStatus.PROCESSED) == 1


def drain(queue: MemoryQueue, router: WebhookRouter) -> list[str]:
    """Run every queued job the way a worker would: ack on success, nack on failure."""
    errors: list[str] = []
    for item in queue.reserve(visibility_timeout=30, max_items=100):
        try:
            router.run_job(item.payload)
        except JobError as exc:  # noqa: PERF203 - one outcome per job, like a worker
            errors.append(str(exc))
            queue.nack(item.receipt, error=str(exc))
        else:
            queue.ack(item.receipt)
    return errors


def test_with_a_queue_events_are_deferred_once_and_run_by_a_worker(kit, store):
    queue = MemoryQueue()
    router = WebhookRouter(store, queue=queue)
    done: list[str] = []
    router.add("*", lambda e: done.append(e.external_id))
    delivery = verified(kit, kit.event(external_id="Q1"), kit.event(external_id="Q2"))
    report = router.dispatch(delivery)
    assert report.count(EventStatus.DEFERRED) == 2
    assert done == []
    assert router.dispatch(delivery).replayed
    assert queue.size() == 2
    assert drain(queue, router) == []
    assert done == ["Q1", "Q2"]
    assert queue.size() == 0


def test_a_failing_queued_job_raises_so_the_queue_retries_it(kit, store):
    queue = MemoryQueue(retry_delay=0)
    router = WebhookRouter(store, queue=queue)
    attempts: list[str] = []

    def flaky(event: WebhookEvent) -> None:
        attempts.append(event.external_id)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")

    router.add("*", flaky)
    router.dispatch(verified(kit, kit.event(external_id="F1")))
    (error,) = drain(queue, router)
    assert "F1" in error
    assert drain(queue, router) == []
    assert attempts == ["F1", "F1"]
    with pytest.raises(ValueError, match="not a webhook event job"):
        router.run_job({"kind": "something else"})
    with pytest.raises(ValueError, match="not a webhook event job"):
        router.run_job(["not", "a", "job"])


def test_an_event_the_queue_refuses_is_released_for_a_retry(kit, store):
    router = WebhookRouter(store, queue=MemoryQueue(max_size=1))
    router.add("*", lambda e: None)
    delivery = verified(kit, kit.event(external_id="N1"), kit.event(external_id="N2"))
    report = router.dispatch(delivery)
    assert [r.status for r in report.results] == [EventStatus.DEFERRED, EventStatus.FAILED]
    assert isinstance(report.results[1].error, QueueFullError)
    assert store.claim_delivery(delivery.events[1].dedupe_key, ttl=60)


def test_registration_mistakes_are_caller_errors(store):
    router = WebhookRouter(store)
    with pytest.raises(ValueError, match="topic"):
        router.add("", lambda e: None)
    with pytest.raises(TypeError):
        router.add("*", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dedupe_ttl"):
        WebhookRouter(store, dedupe_ttl=0)


def test_event_accessors_tolerate_odd_payloads():
    event = WebhookEvent("t", "e", {"data": {"attributes": {"timestamp": 1_800_000_000}}}, "d")
    assert event.profile_id is None
    assert event.occurred_at is not None
    assert event.occurred_at.year == 2027
    assert WebhookEvent("t", "e", {"data": "x"}, "d").occurred_at is None
    assert (
        WebhookEvent("t", "e", {"data": {"attributes": {"datetime": "no"}}}, "d").occurred_at
        is None
    )
    assert WebhookEvent.from_job(event.to_job()) == event


def test_every_failing_handler_of_an_event_is_logged(kit, store, caplog):
    router = WebhookRouter(store)

    def first(event: WebhookEvent) -> None:
        raise RuntimeError("first handler broke")

    def second(event: WebhookEvent) -> None:
        raise KeyError("second handler broke")

    router.add("*", first)
    router.add("*", second)
    delivery = verified(kit, kit.event(external_id="TWO"))
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit.webhooks"):
        sync_report = router.dispatch(delivery)
        async_report = asyncio.run(router.adispatch(delivery))
    logged = [record.exc_info[1] for record in caplog.records if record.exc_info]
    assert [type(exc) for exc in logged] == [RuntimeError, KeyError] * 2
    # The report keeps the first error; the log has them all.
    assert isinstance(sync_report.results[0].error, RuntimeError)
    assert isinstance(async_report.results[0].error, RuntimeError)


def test_an_event_the_queue_refuses_is_logged(kit, store, caplog):
    router = WebhookRouter(store, queue=MemoryQueue(max_size=1))
    router.add("*", lambda e: None)
    delivery = verified(kit, kit.event(external_id="Q0"), kit.event(external_id="Q1"))
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit.webhooks"):
        report = router.dispatch(delivery)
    assert report.results[1].status is EventStatus.FAILED
    assert [type(r.exc_info[1]) for r in caplog.records if r.exc_info] == [QueueFullError]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_events_are_held_briefly_while_handled_and_remembered_once_done(kit):
    clock = Clock()
    ledger = MemoryStateStore(clock=clock)
    router = WebhookRouter(ledger, processing_timeout=60, dedupe_ttl=3600)
    delivery = verified(kit, kit.event(external_id="A"), kit.event(external_id="B"))
    key_a, key_b = (e.dedupe_key for e in delivery.events)
    seen: list[bool] = []

    def handler(event: Any) -> None:
        if event.external_id == "A":
            # Mid-delivery the events hold only the short claim: were this process to die
            # now, a redelivery after 60 s would take them again.
            clock.now += 61
            seen.append(ledger.claim_delivery(key_a, ttl=1))
            seen.append(ledger.claim_delivery(key_b, ttl=1))
            clock.now -= 61

    router.add("*", handler)
    report = router.dispatch(delivery)
    assert seen == [True, True]
    assert [r.status for r in report.results] == [EventStatus.PROCESSED] * 2
    # Once done, a processed event is remembered for the dedupe TTL, not the lease.
    clock.now += 61
    assert not ledger.claim_delivery(key_a, ttl=1)
    assert not ledger.claim_delivery(key_b, ttl=1)
    clock.now += 3600
    assert ledger.claim_delivery(key_a, ttl=1)


def test_a_failed_event_is_released_and_the_same_event_twice_in_a_delivery_runs_once(kit, store):
    router = WebhookRouter(store)
    runs: list[str] = []

    def handler(event: Any) -> None:
        runs.append(event.external_id)
        if event.external_id == "bad":
            raise RuntimeError("boom")

    router.add("*", handler)
    twice = kit.event(external_id="same")
    delivery = verified(kit, twice, twice, kit.event(external_id="bad"))
    report = router.dispatch(delivery)
    assert [r.status for r in report.results] == [
        EventStatus.PROCESSED,
        EventStatus.DUPLICATE,
        EventStatus.FAILED,
    ]
    assert runs == ["same", "bad"]
    assert store.claim_delivery(delivery.events[2].dedupe_key, ttl=60)  # released for a retry
    assert not store.claim_delivery(delivery.events[0].dedupe_key, ttl=60)  # kept


def test_processing_timeout_must_be_positive():
    with pytest.raises(ValueError, match="processing_timeout"):
        WebhookRouter(processing_timeout=0)
