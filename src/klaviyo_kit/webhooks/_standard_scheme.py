"""Standard Webhooks (standardwebhooks.com): ``v1,<base64>`` over ``id.timestamp.body``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import ConfigurationError
from klaviyo_kit.webhooks._reasons import VerificationReason, reject
from klaviyo_kit.webhooks._scheme import (
    VerifiedPayload,
    as_bytes,
    check_fresh,
    parse_json_object,
    require_header,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
_SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def _signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> bytes:
    signed = as_bytes(f"{message_id}.{timestamp}.") + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())


def _sent_at(timestamp: str) -> datetime:
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit():
        raise reject(VerificationReason.MALFORMED, "webhook-timestamp is not Unix seconds")
    try:
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    except (OverflowError, ValueError, OSError) as exc:
        raise reject(VerificationReason.STALE, "webhook-timestamp is out of range") from exc


@dataclass(frozen=True, slots=True)
class StandardWebhooksScheme:
    """Verify Standard Webhooks deliveries: relays in front of Klaviyo and the kit's own hooks.

    Headers are ``webhook-id``, ``webhook-timestamp`` (Unix seconds, checked against the clock
    in both directions) and ``webhook-signature``, a space-separated list of ``v1,<base64>``
    signatures of ``"{id}.{timestamp}.{body}"``; unknown versions are skipped. Secrets are
    ``whsec_<base64>``.

    Example:
        >>> verifier = WebhookVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ...                            scheme=StandardWebhooksScheme())
    """

    def derive_key(self, secret: str) -> bytes:
        """Strip ``whsec_`` and base64-decode the rest.

        Raises:
            ConfigurationError: The secret is empty or not base64.
        """
        encoded = secret.removeprefix(_SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigurationError("the webhook secret is not whsec_<base64>") from exc
        if not key:
            raise ConfigurationError("the webhook signing secret is empty")
        return key

    def authenticate(
        self,
        body: bytes,
        headers: Mapping[str, str],
        keys: Sequence[bytes],
        *,
        now: datetime,
        tolerance: float,
    ) -> VerifiedPayload:
        """Check a ``v1`` signature, then the timestamp, then parse the body.

        Raises:
            WebhookVerificationError: ``missing_header``, ``bad_signature``, ``stale`` or
                ``malformed``.
        """
        message_id = require_header(headers, ID_HEADER)
        timestamp = require_header(headers, TIMESTAMP_HEADER)
        signatures = [
            as_bytes(value)
            for version, _, value in (
                part.partition(",") for part in require_header(headers, SIGNATURE_HEADER).split()
            )
            if version == "v1"
        ]
        expected = [_signature(key, message_id, timestamp, body) for key in keys]
        if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
            raise reject(VerificationReason.BAD_SIGNATURE, "no secret produces a v1 signature")
        check_fresh(_sent_at(timestamp), now=now, tolerance=tolerance)
        return VerifiedPayload(delivery_id=message_id, document=parse_json_object(body))

    def sign(
        self, body: bytes, *, key: bytes, timestamp: datetime, delivery_id: str
    ) -> dict[str, str]:
        """Return ``webhook-id``, ``webhook-timestamp`` and one ``v1`` ``webhook-signature``."""
        seconds = str(int(timestamp.timestamp()))
        signature = _signature(key, delivery_id, seconds, body).decode("ascii")
        return {
            "Content-Type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": seconds,
            "webhook-signature": f"v1,{signature}",
        }
