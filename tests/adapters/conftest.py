"""Framework receivers from ``examples/``, each driven by its framework's own test client."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.webhooks import (
    SignedWebhook,
    WebhookReceiver,
    WebhookRouter,
    WebhookVerifier,
    build_delivery,
    sign_webhook,
)
from klaviyo_kit.webhooks.handlers import SQLWebhookRepository, register_default_handlers

if TYPE_CHECKING:
    from collections.abc import Iterator

# The examples are not a package of the project: import them from the checkout.
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SECRET = "adapter-test-secret"
NOW = datetime(2026, 9, 4, 13, 16, 52, tzinfo=timezone.utc)


@dataclass
class Hooks:
    receiver: WebhookReceiver
    repository: SQLWebhookRepository

    def opened(self, event_id: str = "EV1", *, secret: str = SECRET) -> SignedWebhook:
        """A signed delivery of one 'opened email' event for profile P1."""
        event = {
            "topic": "event:klaviyo.opened_email",
            "external_id": event_id,
            "payload": {
                "data": {
                    "type": "event",
                    "id": event_id,
                    "attributes": {"datetime": NOW.isoformat(), "event_properties": {}},
                    "relationships": {"profile": {"data": {"type": "profile", "id": "P1"}}},
                }
            },
        }
        body = build_delivery([event], webhook_id="WH1", sent_at=NOW)
        return sign_webhook(body, secret=secret, timestamp=NOW)

    def opens(self) -> int:
        from klaviyo_kit.webhooks.handlers import EngagementKind

        return self.repository.get_engagement("P1").counts.get(EngagementKind.OPENED, 0)


@pytest.fixture
def hooks(tmp_path) -> Iterator[Hooks]:
    store = SQLStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    router = WebhookRouter(store)
    repository = SQLWebhookRepository.from_store(store)
    register_default_handlers(router, repository)
    verifier = WebhookVerifier(SECRET, clock=NOW.timestamp, max_body_bytes=64_000)
    yield Hooks(WebhookReceiver(verifier, router), repository)
    store.close()
