"""Build valid signed deliveries for tests, the sandbox and the kit's own outbound hooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from pydantic import SecretStr

from klaviyo_kit.webhooks._klaviyo_scheme import KlaviyoSignatureScheme

if TYPE_CHECKING:
    from collections.abc import Iterable

    from klaviyo_kit.webhooks._scheme import SignatureScheme


@dataclass(frozen=True, slots=True)
class SignedWebhook:
    """A delivery ready to POST: the exact body bytes and the headers that sign them.

    Attributes:
        body: The raw body.
        headers: The signature headers plus ``Content-Type``.
    """

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def build_delivery(
    events: Iterable[Mapping[str, object]],
    *,
    webhook_id: str,
    sent_at: datetime | None = None,
    account_id: str = "TestAcct",
    version: str = "2024-06-28",
) -> dict[str, object]:
    """Build a Klaviyo system-webhook body around ``events``.

    Args:
        events: Items with ``topic``, ``external_id`` and ``payload``, in order.
        webhook_id: Written to ``meta.klaviyo_webhook_id``.
        sent_at: Written to ``meta.timestamp``; the current UTC time when ``None``.
        account_id: Written to ``meta.klaviyo_account_id``.
        version: Written to ``meta.version``.

    Returns:
        The JSON-ready body.
    """
    when = sent_at if sent_at is not None else datetime.now(tz=timezone.utc)
    return {
        "data": [dict(event) for event in events],
        "meta": {
            "klaviyo_account_id": account_id,
            "klaviyo_webhook_id": webhook_id,
            "timestamp": when.isoformat(),
            "version": version,
        },
    }


def _webhook_id_of(body: bytes | Mapping[str, object]) -> str | None:
    """Return ``meta.klaviyo_webhook_id`` of the caller's own body (bytes are parsed leniently)."""
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            return None
    meta = body.get("meta") if isinstance(body, Mapping) else None
    found = meta.get("klaviyo_webhook_id") if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def sign_webhook(
    body: bytes | Mapping[str, object],
    *,
    secret: str | SecretStr,
    scheme: SignatureScheme | None = None,
    timestamp: datetime | None = None,
    delivery_id: str | None = None,
) -> SignedWebhook:
    """Sign ``body`` the way the sender would, to build valid test deliveries.

    Args:
        body: Raw bytes, or a JSON object that is serialised compactly first.
        secret: The signing secret.
        scheme: The format; :class:`KlaviyoSignatureScheme` when ``None``.
        timestamp: The send time in the signature headers; now when ``None``.
        delivery_id: Klaviyo: the webhook id (must match the body's
            ``meta.klaviyo_webhook_id``; taken from it when ``None``). Standard Webhooks: the
            message id (a fresh ``msg_…`` when ``None``).

    Returns:
        The body bytes and headers.

    Example:
        >>> body = build_delivery([], webhook_id="01TEST")
        >>> signed = sign_webhook(body, secret="s3cret-for-tests")
        >>> signed.headers["Klaviyo-Webhook-Id"]
        '01TEST'
    """
    chosen: SignatureScheme = scheme if scheme is not None else KlaviyoSignatureScheme()
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    if delivery_id is None and isinstance(chosen, KlaviyoSignatureScheme):
        delivery_id = _webhook_id_of(body)
    plain = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    headers = chosen.sign(
        raw,
        key=chosen.derive_key(plain),
        timestamp=timestamp if timestamp is not None else datetime.now(tz=timezone.utc),
        delivery_id=delivery_id if delivery_id is not None else f"msg_{uuid.uuid4().hex}",
    )
    return SignedWebhook(body=raw, headers=headers)
