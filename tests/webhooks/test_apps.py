from __future__ import annotations

import asyncio
import io
import json
import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from klaviyo_kit.webhooks import (
    DispatchReport,
    EventResult,
    EventStatus,
    WebhookASGIApp,
    WebhookEvent,
    WebhookHandler,
    WebhookReceiver,
    WebhookRouter,
    WebhookVerifier,
    WebhookWSGIApp,
    sign_webhook,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


@pytest.fixture
def processed() -> list[str]:
    return []


@pytest.fixture
def receiver(kit, store, processed) -> WebhookReceiver:
    router = WebhookRouter(store)

    @router.on("event:klaviyo.*")
    def record(event) -> None:
        if event.external_id.startswith("FAIL"):
            raise RuntimeError("handler broke")
        processed.append(event.external_id)

    verifier = WebhookVerifier(kit.secret, clock=kit.clock, max_body_bytes=4096)
    return WebhookReceiver(verifier, router)


def cases(kit: Any) -> list[tuple[str, bytes, Mapping[str, str], int, object]]:
    """(name, body, headers, expected status, expected JSON) for every outcome."""
    good = kit.signed(kit.event(external_id="OK1"))
    stale = kit.signed(kit.event(external_id="OLD"), sent_at=kit.now - timedelta(hours=1))
    wrong = kit.signed(kit.event(), secret="not-the-secret")
    mismatch = {**good.headers, "Klaviyo-Webhook-Id": "other"}
    malformed = sign_webhook(b"[]", secret=kit.secret, timestamp=kit.now, delivery_id="W")
    return [
        ("processed", good.body, good.headers, 204, None),
        ("replayed", good.body, good.headers, 200, {"result": "duplicate"}),
        ("stale", stale.body, stale.headers, 200, {"result": "stale"}),
        ("bad signature", wrong.body, wrong.headers, 401, {"error": "bad_signature"}),
        ("mismatch", good.body, mismatch, 401, {"error": "webhook_id_mismatch"}),
        (
            "missing",
            good.body,
            {"content-type": "application/json"},
            400,
            {"error": "missing_header"},
        ),
        ("too large", b"x" * 5000, good.headers, 413, {"error": "body_too_large"}),
        ("malformed", malformed.body, malformed.headers, 400, {"error": "malformed"}),
    ]


def check(responses: list[httpx.Response], kit: Any, processed: list[str]) -> None:
    for (name, *_rest, status, content), response in zip(cases(kit), responses, strict=True):
        assert response.status_code == status, name
        if content is None:
            assert response.content == b"", name
        else:
            assert response.json() == content, name
    assert processed == ["OK1"]


def test_the_wsgi_app_answers_each_outcome(kit, receiver, processed):
    with httpx.Client(
        transport=httpx.WSGITransport(app=WebhookWSGIApp(receiver)), base_url="http://hooks"
    ) as client:
        responses = [client.post("/", content=b, headers=h) for _, b, h, *_ in cases(kit)]
        assert client.get("/").status_code == 405
    check(responses, kit, processed)


def test_the_asgi_app_answers_each_outcome(kit, receiver, processed):
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=WebhookASGIApp(receiver))
        async with httpx.AsyncClient(transport=transport, base_url="http://hooks") as client:
            responses = [await client.post("/", content=b, headers=h) for _, b, h, *_ in cases(kit)]
            assert (await client.get("/")).status_code == 405
            return responses

    check(asyncio.run(run()), kit, processed)


def test_nothing_recorded_is_a_500_so_the_sender_retries(kit, receiver, processed):
    failing = kit.signed(kit.event(external_id="FAIL1"), kit.event(external_id="FAIL2"))
    response = receiver.handle(failing.body, failing.headers)
    assert response.status == 500
    assert response.report is not None
    assert len(response.report.failures) == 2
    # A retry finds the claims released and tries again.
    assert receiver.handle(failing.body, failing.headers).status == 500


class FailsOnce:
    """A handler that raises on the first attempt at event ``B`` and counts calls per event id."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.done: Counter[str] = Counter()

    def run(self, event: WebhookEvent) -> None:
        self.attempts[event.external_id] += 1
        if event.external_id == "B" and self.attempts["B"] == 1:
            raise RuntimeError("B's handler broke once")
        self.done[event.external_id] += 1

    async def arun(self, event: WebhookEvent) -> None:
        await asyncio.sleep(0)
        self.run(event)


def flaky_receiver(kit: Any, ledger: Any, handler: WebhookHandler) -> WebhookReceiver:
    router = WebhookRouter(ledger)
    router.add("event:klaviyo.*", handler)
    return WebhookReceiver(WebhookVerifier(kit.secret, clock=kit.clock), router)


HANDLER_FAILED = {"error": "handler_failed", "failed": 1, "failed_ids": ["B"]}


def test_a_partial_failure_is_a_500_and_the_redelivery_retries_only_the_failed_event(
    kit, any_store
):
    # A 2xx would tell Klaviyo the whole delivery landed: the failed event would be lost.
    flaky = FailsOnce()
    receiver = flaky_receiver(kit, any_store, flaky.run)
    delivery = kit.signed(kit.event(external_id="A"), kit.event(external_id="B"))

    first = receiver.handle(delivery.body, delivery.headers)
    assert first.status == 500
    assert json.loads(first.body) == HANDLER_FAILED
    assert first.report is not None
    assert [r.status for r in first.report.results] == [EventStatus.PROCESSED, EventStatus.FAILED]
    (failure,) = first.report.failures
    assert (failure.index, failure.external_id) == (1, "B")
    assert failure.message == "RuntimeError: B's handler broke once"

    # Klaviyo redelivers the same signed body: A replays as a duplicate, only B runs again.
    again = receiver.handle(delivery.body, delivery.headers)
    assert again.status == 204
    assert again.report is not None
    assert [r.status for r in again.report.results] == [
        EventStatus.DUPLICATE,
        EventStatus.PROCESSED,
    ]
    assert receiver.handle(delivery.body, delivery.headers).status == 200  # all done now

    assert flaky.done == {"A": 1, "B": 1}
    assert flaky.attempts == {"A": 1, "B": 2}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_wsgi_app_answers_a_partial_failure_500_then_2xx(kit, store, kind):
    flaky = FailsOnce()
    receiver = flaky_receiver(kit, store, flaky.run if kind == "sync" else flaky.arun)
    delivery = kit.signed(kit.event(external_id="A"), kit.event(external_id="B"))
    with httpx.Client(
        transport=httpx.WSGITransport(app=WebhookWSGIApp(receiver)), base_url="http://hooks"
    ) as client:
        first, again = (
            client.post("/", content=delivery.body, headers=delivery.headers) for _ in range(2)
        )
        assert (first.status_code, first.json()) == (500, HANDLER_FAILED)
        assert first.reason_phrase == "Internal Server Error"
        assert again.status_code == 204
    assert flaky.done == {"A": 1, "B": 1}
    assert flaky.attempts == {"A": 1, "B": 2}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_asgi_app_answers_a_partial_failure_500_then_2xx(kit, store, kind):
    flaky = FailsOnce()
    receiver = flaky_receiver(kit, store, flaky.run if kind == "sync" else flaky.arun)
    delivery = kit.signed(kit.event(external_id="A"), kit.event(external_id="B"))

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=WebhookASGIApp(receiver))
        async with httpx.AsyncClient(transport=transport, base_url="http://hooks") as client:
            return [
                await client.post("/", content=delivery.body, headers=delivery.headers)
                for _ in range(2)
            ]

    first, again = asyncio.run(run())
    assert (first.status_code, first.json()) == (500, HANDLER_FAILED)
    assert again.status_code == 204
    assert flaky.done == {"A": 1, "B": 1}
    assert flaky.attempts == {"A": 1, "B": 2}


def test_a_report_repr_shows_the_redacted_reason_not_the_exception():
    # The report rides on every response and ends up in logs: no key a handler's exception
    # happened to carry may come out of its repr.
    key = "pk_" + "s" * 34
    error = RuntimeError(f"Klaviyo-API-Key {key} refused")
    result = EventResult(1, "event:klaviyo.opened_email", "B", EventStatus.FAILED, error)
    text = repr(DispatchReport("W", (result,)))
    assert key not in text
    assert "external_id='B', status=EventStatus.FAILED" in text
    assert "message='RuntimeError: Klaviyo-API-Key *** refused'" in text


def test_a_declared_oversize_body_is_refused_unread(kit, receiver):
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "99999", "wsgi.input": None}
    statuses: list[str] = []
    body = WebhookWSGIApp(receiver)(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["413 Content Too Large"]
    assert b"body_too_large" in b"".join(body)


def test_the_asgi_app_under_uvicorn_on_loopback(kit, receiver, processed, serve):
    with serve(WebhookASGIApp(receiver)) as url:
        good = kit.signed(kit.event(external_id="OK1"))
        first = httpx.post(f"{url}/webhooks/klaviyo", content=good.body, headers=good.headers)
        again = httpx.post(f"{url}/webhooks/klaviyo", content=good.body, headers=good.headers)
        big = httpx.post(f"{url}/webhooks/klaviyo", content=b"x" * 10_000, headers=good.headers)
    assert (first.status_code, again.status_code, big.status_code) == (204, 200, 413)
    assert processed == ["OK1"]


def test_a_rejected_delivery_is_logged_without_the_secret(kit, receiver, processed, caplog):
    # A stale delivery is answered 200, so Klaviyo never resends it: its events are gone, and
    # the operator must at least be told. A bad signature (say, a rotated secret) likewise.
    stale = kit.signed(kit.event(external_id="OLD"), sent_at=kit.now - timedelta(hours=1))
    forged = kit.signed(kit.event(external_id="BAD"), secret="not-the-secret")
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit.webhooks"):
        assert receiver.handle(stale.body, stale.headers).status == 200
        assert receiver.handle(forged.body, forged.headers).status == 401
    reasons = [getattr(record, "reason", None) for record in caplog.records]
    assert reasons == ["stale", "bad_signature"]
    assert "stale" in caplog.records[0].getMessage()
    assert kit.secret not in caplog.text
    assert processed == []


def test_an_oversize_body_refused_by_an_app_is_logged(kit, receiver, caplog):
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "99999", "wsgi.input": None}
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit.webhooks"):
        WebhookWSGIApp(receiver)(environ, lambda status, headers: None)
    assert [getattr(r, "reason", None) for r in caplog.records] == ["body_too_large"]


def test_a_failure_beside_an_unhandled_event_is_still_a_500(kit, receiver, processed):
    # Unhandled events are not claimed, so nothing was recorded: the sender must retry, or the
    # failed event is lost for good.
    mixed = kit.signed(
        kit.event("event:shopify.placed_order", "SHOP1"), kit.event(external_id="FAIL4")
    )
    response = receiver.handle(mixed.body, mixed.headers)
    assert response.status == 500
    assert response.report is not None
    assert not response.report.recorded


class UnreadableStream:
    """A ``wsgi.input`` that, like a raw socket, would block waiting for bytes never sent."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError(f"read({size}) past the end of the request")


def wsgi_post(app: WebhookWSGIApp, environ: dict[str, object]) -> tuple[str, bytes]:
    statuses: list[str] = []
    body = app({"REQUEST_METHOD": "POST", **environ}, lambda s, h: statuses.append(s))
    return statuses[0], b"".join(body)


def test_wsgi_without_a_content_length_reads_no_body(kit, receiver):
    # PEP 3333: with no CONTENT_LENGTH (and no terminated stream) there is no body to read;
    # reading anyway can block a worker until the client hangs up.
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in kit.signed().headers.items()}
    status, _ = wsgi_post(WebhookWSGIApp(receiver), {"wsgi.input": UnreadableStream(), **headers})
    assert status == "401 Unauthorized"


def test_wsgi_reads_a_chunked_body_the_server_terminates_up_to_the_cap(kit, receiver, processed):
    good = kit.signed(kit.event(external_id="CH1"))
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in good.headers.items()}
    app = WebhookWSGIApp(receiver)
    chunked = {"wsgi.input_terminated": True, **headers}
    status, _ = wsgi_post(app, {"wsgi.input": io.BytesIO(good.body), **chunked})
    assert status == "204 No Content"
    status, body = wsgi_post(app, {"wsgi.input": io.BytesIO(b"x" * 5000), **chunked})
    assert (status, json.loads(body)) == ("413 Content Too Large", {"error": "body_too_large"})
    assert processed == ["CH1"]


def test_an_asgi_client_that_hangs_up_mid_body_is_not_judged(kit, receiver, caplog):
    # A truncated body can never verify: answering it would log a misleading bad_signature
    # (and send to a closed connection).
    good = kit.signed(kit.event(external_id="CUT"))
    messages = iter(
        [
            {"type": "http.request", "body": good.body[:10], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, object]:
        return next(messages)

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in good.headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit.webhooks"):
        asyncio.run(WebhookASGIApp(receiver)(scope, receive, send))
    assert sent == []
    assert caplog.records == []


def asgi_post(
    receiver: WebhookReceiver, chunks: list[bytes], headers: Mapping[str, str]
) -> tuple[int, int]:
    """POST ``chunks`` to the ASGI app; return the status and how many chunks it read."""
    read = 0

    async def receive() -> dict[str, object]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": raw}
    asyncio.run(WebhookASGIApp(receiver)(scope, receive, send))
    status = sent[0]["status"]
    assert isinstance(status, int)
    return status, read


def test_asgi_refuses_a_declared_oversize_body_without_reading_it(kit, receiver):
    headers = {**kit.signed().headers, "content-length": "5000"}  # the cap is 4096
    assert asgi_post(receiver, [b"x" * 5000], headers) == (413, 0)


def test_asgi_stops_reading_a_streamed_body_past_the_cap(kit, receiver, processed):
    # No Content-Length (chunked): the app counts the bytes as they arrive.
    assert asgi_post(receiver, [b"x" * 1000] * 50, kit.signed().headers) == (413, 5)
    good = kit.signed(kit.event(external_id="STREAM"))
    pieces = [good.body[i : i + 100] for i in range(0, len(good.body), 100)]
    assert asgi_post(receiver, pieces, good.headers) == (204, len(pieces))
    assert processed == ["STREAM"]
