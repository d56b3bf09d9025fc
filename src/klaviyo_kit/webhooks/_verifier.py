"""``WebhookVerifier``: raw bytes and headers in, a verified delivery or one error out."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from pydantic import SecretStr

from klaviyo_kit.errors import ConfigurationError
from klaviyo_kit.webhooks._delivery import WebhookDelivery, parse_delivery
from klaviyo_kit.webhooks._klaviyo_scheme import KlaviyoSignatureScheme
from klaviyo_kit.webhooks._reasons import VerificationReason, reject

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.webhooks._scheme import SignatureScheme

DEFAULT_TOLERANCE: Final = 300.0
DEFAULT_MAX_BODY_BYTES: Final = 10 * 1024 * 1024

Secret = str | SecretStr


def _plain(secret: Secret) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


class WebhookVerifier:
    """Verify webhook deliveries over the raw body bytes, before anything parses them.

    The verifier checks, in order: the body size cap, the scheme's headers, the signature
    (constant-time, against every configured secret so a rotation can overlap), and only then
    parses the JSON and applies the scheme's remaining checks. Every failure is one
    :class:`~klaviyo_kit.errors.WebhookVerificationError` whose ``reason`` is a
    :class:`VerificationReason` value.

    Args:
        secrets: The signing secret, or several during a rotation.
        scheme: The signature format; :class:`KlaviyoSignatureScheme` when ``None``.
        tolerance: Seconds a delivery may be older or newer than the clock.
        max_body_bytes: Larger bodies are rejected before hashing.
        clock: Returns the current Unix time; ``time.time`` when ``None``.

    Raises:
        ConfigurationError: No secret, or a secret the scheme cannot use.
        ValueError: ``tolerance`` is negative or NaN, or ``max_body_bytes`` is not positive.

    Example:
        >>> verifier = WebhookVerifier(["new-secret", "old-secret"])
        >>> delivery = verifier.verify(body, headers)  # doctest: +SKIP
    """

    __slots__ = ("_clock", "_keys", "_scheme", "max_body_bytes", "tolerance")

    def __init__(
        self,
        secrets: Secret | Sequence[Secret],
        *,
        scheme: SignatureScheme | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Derive each secret's key once; see the class docstring for the arguments."""
        if not tolerance >= 0:  # also refuses NaN, which would disable the check
            raise ValueError("tolerance must be zero or more seconds")
        if max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        listed = [secrets] if isinstance(secrets, (str, SecretStr)) else list(secrets)
        if not listed:
            raise ConfigurationError("configure at least one webhook signing secret")
        self._scheme: SignatureScheme = scheme if scheme is not None else KlaviyoSignatureScheme()
        self._keys = tuple(self._scheme.derive_key(_plain(secret)) for secret in listed)
        self._clock = clock if clock is not None else time.time
        self.tolerance = tolerance
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_settings(
        cls,
        settings: KlaviyoSettings,
        *,
        scheme: SignatureScheme | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], float] | None = None,
    ) -> WebhookVerifier:
        """Build a verifier from ``KlaviyoSettings.webhook_secret``.

        Raises:
            ConfigurationError: ``KLAVIYO_WEBHOOK_SIGNING_SECRET`` is not set.
        """
        if settings.webhook_secret is None:
            raise ConfigurationError("set KLAVIYO_WEBHOOK_SIGNING_SECRET to verify webhooks")
        return cls(
            settings.webhook_secret,
            scheme=scheme,
            tolerance=tolerance,
            max_body_bytes=max_body_bytes,
            clock=clock,
        )

    @property
    def scheme(self) -> SignatureScheme:
        """The signature format this verifier checks."""
        return self._scheme

    def verify(self, body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
        """Verify one delivery and return its events.

        Args:
            body: The raw request body, exactly as received.
            headers: The request headers; names are matched case-insensitively.

        Returns:
            The verified delivery, events in order.

        Raises:
            WebhookVerificationError: With reason ``body_too_large``, ``missing_header``,
                ``bad_signature``, ``malformed``, ``webhook_id_mismatch`` or ``stale``.
            TypeError: ``body`` is not bytes.
        """
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError("verify() takes the raw body as bytes, before any decoding")
        raw = bytes(body)
        if len(raw) > self.max_body_bytes:
            raise reject(
                VerificationReason.BODY_TOO_LARGE,
                f"the body is {len(raw)} bytes (limit {self.max_body_bytes})",
            )
        lowered = {str(name).lower(): value for name, value in headers.items()}
        now = datetime.fromtimestamp(self._clock(), tz=timezone.utc)
        verified = self._scheme.authenticate(
            raw, lowered, self._keys, now=now, tolerance=self.tolerance
        )
        return parse_delivery(verified.document, delivery_id=verified.delivery_id)

    def __repr__(self) -> str:
        """Show the scheme and limits, never the secrets."""
        return (
            f"WebhookVerifier(scheme={type(self._scheme).__name__}, secrets={len(self._keys)}, "
            f"tolerance={self.tolerance:g}, max_body_bytes={self.max_body_bytes})"
        )
