from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from examples.fastapi_app.app import create_app
from fastapi.testclient import TestClient


def test_fastapi_receiver_processes_once_and_rejects_forgeries(hooks):
    client = TestClient(create_app(hooks.receiver))
    delivery = hooks.opened()
    first = client.post("/webhooks/klaviyo", content=delivery.body, headers=dict(delivery.headers))
    again = client.post("/webhooks/klaviyo", content=delivery.body, headers=dict(delivery.headers))
    forged = hooks.opened("EV2", secret="wrong")
    bad = client.post("/webhooks/klaviyo", content=forged.body, headers=dict(forged.headers))
    assert (first.status_code, again.status_code, bad.status_code) == (204, 200, 401)
    assert bad.json() == {"error": "bad_signature"}
    assert hooks.opens() == 1
    assert client.get("/webhooks/klaviyo").status_code == 405
    huge = client.post("/webhooks/klaviyo", content=b"x" * 70_000, headers=dict(delivery.headers))
    assert huge.status_code == 413


def test_fastapi_receiver_stops_reading_a_body_past_the_cap(hooks):
    # TestClient buffers the whole body, so drive the app over ASGI with a streamed body:
    # 100 chunks of 10 kB against a 64 kB cap must not all be read into memory.
    app = create_app(hooks.receiver)
    chunks_read = 0

    async def receive() -> dict[str, object]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 10_000, "more_body": chunks_read < 100}

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/klaviyo",
        "raw_path": b"/webhooks/klaviyo",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert chunks_read <= 7
