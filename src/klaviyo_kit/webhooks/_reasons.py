"""Why a delivery failed verification: the ``reason`` codes of ``WebhookVerificationError``."""

from __future__ import annotations

from enum import Enum

from klaviyo_kit.errors import WebhookVerificationError


class VerificationReason(str, Enum):
    """The machine-readable reasons a delivery is rejected.

    Each value is the ``reason`` of the :class:`~klaviyo_kit.errors.WebhookVerificationError`
    raised for it, so ``error.reason == VerificationReason.STALE`` holds.
    """

    MISSING_HEADER = "missing_header"
    BAD_SIGNATURE = "bad_signature"
    STALE = "stale"
    WEBHOOK_ID_MISMATCH = "webhook_id_mismatch"
    BODY_TOO_LARGE = "body_too_large"
    MALFORMED = "malformed"


def reject(reason: VerificationReason, message: str) -> WebhookVerificationError:
    """Build the error for ``reason``; the message must never contain a secret."""
    return WebhookVerificationError(reason.value, message)
