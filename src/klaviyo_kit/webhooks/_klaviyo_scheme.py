"""Klaviyo's own signature: hex HMAC-SHA256 over the raw body followed by ``Klaviyo-Timestamp``."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from email.utils import format_datetime
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import ConfigurationError
from klaviyo_kit.webhooks._reasons import VerificationReason, reject
from klaviyo_kit.webhooks._scheme import (
    VerifiedPayload,
    as_bytes,
    check_fresh,
    parse_iso_timestamp,
    parse_json_object,
    require_header,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

SIGNATURE_HEADER: Final = "klaviyo-signature"
TIMESTAMP_HEADER: Final = "klaviyo-timestamp"
WEBHOOK_ID_HEADER: Final = "klaviyo-webhook-id"


def _digest(key: bytes, body: bytes, timestamp: bytes) -> bytes:
    mac = hmac.new(key, body, hashlib.sha256)
    mac.update(timestamp)
    return mac.hexdigest().encode("ascii")


@dataclass(frozen=True, slots=True)
class KlaviyoSignatureScheme:
    """Verify Klaviyo's system webhooks (the default scheme).

    ``Klaviyo-Signature`` is the lowercase hex HMAC-SHA256, keyed by the webhook's secret, of
    the raw body followed by the ``Klaviyo-Timestamp`` header exactly as sent. After the
    signature matches, the body's ``meta.klaviyo_webhook_id`` must equal ``Klaviyo-Webhook-Id``
    and freshness is judged on the body's ``meta.timestamp``: Klaviyo's header clock has been
    seen hours off, so the header is only ever hashed, never compared with the clock.

    Example:
        >>> verifier = WebhookVerifier("my-secret", scheme=KlaviyoSignatureScheme())
    """

    def derive_key(self, secret: str) -> bytes:
        """Use the secret's UTF-8 bytes as the key.

        Raises:
            ConfigurationError: The secret is empty.
        """
        if not secret:
            raise ConfigurationError("the webhook signing secret is empty")
        return secret.encode("utf-8")

    def authenticate(
        self,
        body: bytes,
        headers: Mapping[str, str],
        keys: Sequence[bytes],
        *,
        now: datetime,
        tolerance: float,
    ) -> VerifiedPayload:
        """Check signature, webhook id and ``meta.timestamp``, in that order.

        Raises:
            WebhookVerificationError: ``missing_header``, ``bad_signature``, ``malformed``,
                ``webhook_id_mismatch`` or ``stale``.
        """
        signature = require_header(headers, SIGNATURE_HEADER)
        timestamp = require_header(headers, TIMESTAMP_HEADER)
        webhook_id = require_header(headers, WEBHOOK_ID_HEADER)
        provided = as_bytes(signature.strip().lower())
        signed_tail = as_bytes(timestamp)
        if not any(hmac.compare_digest(_digest(k, body, signed_tail), provided) for k in keys):
            raise reject(VerificationReason.BAD_SIGNATURE, "no secret produces this signature")
        document = parse_json_object(body)
        meta = document.get("meta")
        if not isinstance(meta, dict):
            raise reject(VerificationReason.MALFORMED, "the body has no meta object")
        if meta.get("klaviyo_webhook_id") != webhook_id.strip():
            raise reject(
                VerificationReason.WEBHOOK_ID_MISMATCH,
                "meta.klaviyo_webhook_id does not match the Klaviyo-Webhook-Id header",
            )
        check_fresh(parse_iso_timestamp(meta.get("timestamp")), now=now, tolerance=tolerance)
        return VerifiedPayload(delivery_id=webhook_id.strip(), document=document)

    def sign(
        self, body: bytes, *, key: bytes, timestamp: datetime, delivery_id: str
    ) -> dict[str, str]:
        """Return the ``Klaviyo-Signature``, ``-Timestamp`` (HTTP-date) and ``-Webhook-Id`` headers.

        The body's ``meta`` must already carry ``klaviyo_webhook_id == delivery_id`` and a
        ``timestamp``; :func:`~klaviyo_kit.webhooks.build_delivery` writes both.
        """
        header_time = format_datetime(timestamp, usegmt=True)
        return {
            "Content-Type": "application/json",
            "Klaviyo-Signature": _digest(key, body, as_bytes(header_time)).decode("ascii"),
            "Klaviyo-Timestamp": header_time,
            "Klaviyo-Webhook-Id": delivery_id,
        }
