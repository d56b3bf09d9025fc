"""The seam between the verifier and a signature format, plus the checks every scheme shares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from klaviyo_kit.webhooks._reasons import VerificationReason, reject

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


@dataclass(frozen=True, slots=True)
class VerifiedPayload:
    """A body whose signature checked out, parsed after the check.

    Attributes:
        delivery_id: What identifies the delivery for deduplication (Klaviyo: the webhook id;
            Standard Webhooks: the ``webhook-id`` message id).
        document: The parsed JSON object of the body.
    """

    delivery_id: str
    document: Mapping[str, object]


class SignatureScheme(Protocol):
    """How one webhook format signs its deliveries.

    A scheme authenticates the raw bytes before it parses anything, and signs test deliveries
    the same way. Header names arrive lower-cased.
    """

    def derive_key(self, secret: str) -> bytes:
        """Turn a configured secret into the HMAC key.

        Raises:
            ConfigurationError: The secret is empty or not in the scheme's format.
        """

    def authenticate(
        self,
        body: bytes,
        headers: Mapping[str, str],
        keys: Sequence[bytes],
        *,
        now: datetime,
        tolerance: float,
    ) -> VerifiedPayload:
        """Check the signature with any of ``keys``, then parse and check freshness.

        Raises:
            WebhookVerificationError: With the reason the delivery is rejected.
        """

    def sign(
        self, body: bytes, *, key: bytes, timestamp: datetime, delivery_id: str
    ) -> dict[str, str]:
        """Return the headers that make ``body`` a valid delivery signed with ``key``."""


def require_header(headers: Mapping[str, str], name: str) -> str:
    """Return the value of header ``name`` (lower-case) or reject the delivery.

    Raises:
        WebhookVerificationError: ``missing_header`` when it is absent or blank.
    """
    value = headers.get(name)
    if not isinstance(value, str) or not value.strip():
        raise reject(VerificationReason.MISSING_HEADER, f"the {name!r} header is missing")
    return value


def as_bytes(value: str) -> bytes:
    """Encode a header value losslessly for hashing and comparison (any ``str`` works)."""
    return value.encode("utf-8", "surrogatepass")


def parse_json_object(body: bytes) -> dict[str, object]:
    """Parse an authenticated body that must be one JSON object.

    Raises:
        WebhookVerificationError: ``malformed`` when it is not.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise reject(VerificationReason.MALFORMED, "the body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise reject(VerificationReason.MALFORMED, "the body is not a JSON object")
    return document


def check_fresh(sent_at: datetime, *, now: datetime, tolerance: float) -> None:
    """Reject a delivery sent more than ``tolerance`` seconds before or after ``now``.

    Raises:
        WebhookVerificationError: ``stale``.
    """
    skew = (now - sent_at).total_seconds()
    if abs(skew) > tolerance:
        direction = "old" if skew > 0 else "far in the future"
        raise reject(
            VerificationReason.STALE,
            f"the delivery is {abs(skew):.0f} s {direction} (tolerance {tolerance:g} s)",
        )


def iso_timestamp(value: object) -> datetime | None:
    """Parse an ISO 8601 timestamp (``Z`` allowed; naive means UTC), or return ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def parse_iso_timestamp(value: object) -> datetime:
    """Parse the ISO 8601 ``meta.timestamp`` of an authenticated body.

    Raises:
        WebhookVerificationError: ``malformed`` when it is missing or not a timestamp.
    """
    parsed = iso_timestamp(value)
    if parsed is None:
        raise reject(VerificationReason.MALFORMED, "meta.timestamp is not an ISO 8601 timestamp")
    return parsed
