"""Shared builders for webhook tests: a fixed clock, Klaviyo-shaped events, signed deliveries."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
import uvicorn

from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.webhooks import SignedWebhook, build_delivery, sign_webhook

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    from klaviyo_kit.infra import SQLStateStore
    from klaviyo_kit.webhooks import WebhookASGIApp

SECRET = "klaviyo-test-signing-secret"
WEBHOOK_ID = "01KP4928STE8FKCWB6WDHZ4ZB7"
NOW = datetime(2026, 9, 4, 13, 16, 52, tzinfo=timezone.utc)


def event(
    topic: str = "event:klaviyo.opened_email",
    external_id: str | None = None,
    *,
    profile_id: str | None = "01PROFILE",
    at: datetime = NOW,
    properties: dict[str, object] | None = None,
) -> dict[str, object]:
    """Build one item of a delivery's ``data`` array in Klaviyo's shape."""
    event_id = external_id or uuid.uuid4().hex[:11]
    data: dict[str, object] = {
        "type": "event",
        "id": event_id,
        "attributes": {
            "timestamp": int(at.timestamp()),
            "datetime": at.isoformat(),
            "event_properties": properties or {},
            "uuid": str(uuid.uuid4()),
        },
        "relationships": {"metric": {"data": {"type": "metric", "id": "M1"}}},
    }
    if profile_id is not None:
        relationships = data["relationships"]
        assert isinstance(relationships, dict)
        relationships["profile"] = {"data": {"type": "profile", "id": profile_id}}
    return {"topic": topic, "external_id": event_id, "payload": {"data": data}}


def signed(
    *events: dict[str, object],
    sent_at: datetime = NOW,
    header_time: datetime | None = None,
    webhook_id: str = WEBHOOK_ID,
    secret: str = SECRET,
) -> SignedWebhook:
    """Build and sign a delivery the way Klaviyo does."""
    body = build_delivery(events, webhook_id=webhook_id, sent_at=sent_at)
    return sign_webhook(
        body, secret=secret, timestamp=header_time if header_time is not None else sent_at
    )


class Kit:
    """What tests need to build deliveries, handed out by the ``kit`` fixture."""

    secret = SECRET
    webhook_id = WEBHOOK_ID
    now = NOW
    event = staticmethod(event)
    signed = staticmethod(signed)

    @staticmethod
    def clock() -> float:
        """The verifier's clock: ``NOW`` plus a second of network latency."""
        return (NOW + timedelta(seconds=1)).timestamp()


@pytest.fixture
def kit() -> Kit:
    return Kit()


@pytest.fixture
def store() -> Iterator[MemoryStateStore]:
    state = MemoryStateStore()
    yield state
    state.close()


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[object]:
    """Each embedded StateStore backend."""
    if request.param == "memory":
        state: object = MemoryStateStore()
    else:
        from klaviyo_kit.infra import SQLStateStore

        state = SQLStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    yield state
    state.close()  # type: ignore[attr-defined]


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SQLStateStore]:
    from klaviyo_kit.infra import SQLStateStore

    state = SQLStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    yield state
    state.close()


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[SQLStateStore]:
    """A PostgreSQL-backed store under a unique table prefix, dropped afterwards."""
    from klaviyo_kit.infra import SQLStateStore

    state = SQLStateStore(postgres_url, table_prefix=f"kkwh_{uuid.uuid4().hex[:8]}_")
    yield state
    state.metadata.drop_all(state.engine)
    state.close()


@contextlib.contextmanager
def served(app: WebhookASGIApp) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on a free loopback port; yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    port = next(sock.getsockname()[1] for srv in server.servers for sock in srv.sockets)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def serve() -> Callable[[WebhookASGIApp], AbstractContextManager[str]]:
    """Serve an ASGI app under uvicorn on loopback: ``with serve(app) as url: ...``."""
    return served
