"""Signed system webhooks out: Klaviyo's body, headers and HMAC, to a URL or a Python callable."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate
from typing import TYPE_CHECKING

import httpx

from klaviyo_kit.sandbox._events import render_event

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import World
    from klaviyo_kit.sandbox._state import Record

_LOG = logging.getLogger("klaviyo_kit.sandbox")
PAYLOAD_BASE = "https://a.klaviyo.com"
WEBHOOK_VERSION = "2024-06-28"


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One signed POST the sandbox sent (or handed to a callable).

    Attributes:
        webhook_id: The id of the webhook subscription.
        url: The endpoint URL (``callable://<name>`` for a Python receiver).
        topics: The topics of the items in the body, in order.
        body: The exact bytes that were signed and sent.
        headers: ``Content-Type``, ``Klaviyo-Webhook-Id``, ``Klaviyo-Timestamp``,
            ``Klaviyo-Signature``.
        status: The receiver's HTTP status, or ``None`` when it could not be reached or raised.
    """

    webhook_id: str
    url: str
    topics: tuple[str, ...]
    body: bytes
    headers: Mapping[str, str]
    status: int | None = None

    def json(self) -> dict[str, object]:
        """Return the parsed body."""
        doc: dict[str, object] = json.loads(self.body)
        return doc


def signature(secret: str, body: bytes, timestamp: str) -> str:
    """Return Klaviyo's hex HMAC-SHA256 of the body followed by the timestamp header."""
    mac = hmac.new(secret.encode(), body, hashlib.sha256)
    mac.update(timestamp.encode())
    return mac.hexdigest()


class WebhookOutbox:
    """Collects deliveries while the account is locked and sends them after it is released."""

    def __init__(
        self,
        world: World,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Send through ``transport`` (default: real HTTP) with ``timeout`` seconds per POST."""
        self._world = world
        self._transport = transport
        self._timeout = timeout
        self._pending: list[tuple[Record, str, bytes, dict[str, str]]] = []
        self._lock = threading.RLock()
        self.receivers: dict[str, Callable[[WebhookDelivery], object]] = {}
        self.sent: list[WebhookDelivery] = []

    def emit(self, topic: str, event: Record) -> None:
        """Queue a signed delivery of ``event`` to every enabled webhook on ``topic``."""
        for hook in list(self._world.account.webhooks.values()):
            if hook.attributes.get("enabled", True) and topic in hook.extra["topics"]:
                self._pending.append((hook, topic, *self._sign(hook, topic, event)))

    def _sign(self, hook: Record, topic: str, event: Record) -> tuple[bytes, dict[str, str]]:
        now = self._world.clock()
        item = {
            "topic": topic,
            "external_id": event.id,
            "payload": {"data": render_event(PAYLOAD_BASE, event)},
        }
        meta = {
            "klaviyo_account_id": self._world.account.id,
            "klaviyo_webhook_id": hook.id,
            "timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat(),
            "version": WEBHOOK_VERSION,
        }
        body = json.dumps({"data": [item], "meta": meta}).encode()
        timestamp = formatdate(now, usegmt=True)
        headers = {
            "Content-Type": "application/json",
            "Klaviyo-Webhook-Id": hook.id,
            "Klaviyo-Timestamp": timestamp,
            "Klaviyo-Signature": signature(hook.extra["secret_key"], body, timestamp),
        }
        return body, headers

    def flush(self) -> list[WebhookDelivery]:
        """Send everything queued; return the deliveries in the order they were made."""
        with self._lock:
            pending, self._pending = self._pending, []
        # Sent outside the lock: a receiver may call the sandbox back before it answers.
        done = [self._send(hook, topic, body, headers) for hook, topic, body, headers in pending]
        with self._lock:
            self.sent.extend(done)
        return done

    def _send(
        self, hook: Record, topic: str, body: bytes, headers: dict[str, str]
    ) -> WebhookDelivery:
        url = hook.attributes["endpoint_url"]
        delivery = WebhookDelivery(hook.id, url, (topic,), body, headers)
        receiver = self.receivers.get(hook.id)
        status: int | None
        try:
            if receiver is not None:
                receiver(delivery)
                status = 200
            else:
                with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
                    status = client.post(url, content=body, headers=headers).status_code
        except Exception:  # noqa: BLE001 - a receiver's failure is recorded, never raised
            _LOG.exception("sandbox webhook delivery to %s failed", url)
            status = None
        return WebhookDelivery(hook.id, url, (topic,), body, headers, status)
