"""The two collaborators the router needs, as narrow protocols the infra layer satisfies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from klaviyo_kit.infra import JSONValue


class DeliveryLedger(Protocol):
    """Remembers which events were already claimed (``StateStore`` satisfies it)."""

    def claim_delivery(self, key: str, *, ttl: float) -> bool:
        """Claim ``key`` for ``ttl`` seconds; ``False`` when it was already claimed."""

    def release_delivery(self, key: str) -> None:
        """Forget the claim on ``key`` so a failed event can be retried."""

    def claim_deliveries(self, keys: Sequence[str], *, ttl: float) -> set[str]:
        """Claim several keys in one go (each atomically); return those now claimed."""

    def keep_deliveries(self, keys: Sequence[str], *, ttl: float) -> None:
        """Make the claims on ``keys`` expire ``ttl`` seconds from now."""

    def release_deliveries(self, keys: Sequence[str]) -> None:
        """Forget the claims on ``keys``."""


class EventQueue(Protocol):
    """Takes events to handle later (``JobQueue`` satisfies it)."""

    def enqueue(self, payload: JSONValue, *, key: str | None = None) -> str:
        """Queue ``payload`` (deduplicated on ``key``) and return the job id."""
