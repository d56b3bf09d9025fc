"""The state store contract: sync cursors, watermarks, record sync times, delivery dedupe, audit.

Every backend (:class:`MemoryStateStore`, :class:`SQLStateStore` on SQLite or PostgreSQL) passes
the same contract test suite, so code written against :class:`StateStore` behaves the same on a
laptop and in production.

When the database cannot be reached or used, :class:`SQLStateStore` raises
:class:`~klaviyo_kit.errors.BackendUnavailableError` (the driver's error chained), never a
SQLAlchemy or driver exception of its own; mistakes in a statement stay what they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from klaviyo_kit.errors import redact
from klaviyo_kit.infra._clock import from_micros, to_micros
from klaviyo_kit.infra._json import JSONValue, dumps, loads

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from datetime import datetime

Direction = Literal["sent", "received"]
"""Which way an audited exchange with Klaviyo went."""


@dataclass(frozen=True, slots=True)
class RecordSync:
    """When a record was last synchronised, for last-write-wins decisions.

    Attributes:
        kind: The record type, for example ``"profile"``.
        record_id: The record's id within ``kind``.
        updated_at: The record's own modification time that was stored (timezone-aware, UTC).
        source: Who wrote that version, for example ``"klaviyo"`` or ``"crm"``.
    """

    kind: str
    record_id: str
    updated_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One exchange with Klaviyo, as kept in the append-only audit log.

    Strings in ``detail`` are passed through :func:`klaviyo_kit.errors.redact`, so a key that
    slips in is masked before it is stored; still, put ids and hashes here, never secrets.

    Attributes:
        at: When the exchange happened (timezone-aware).
        direction: ``"sent"`` to Klaviyo or ``"received"`` from it.
        operation: What was done, for example ``"profiles.upsert"`` or ``"webhook.profile"``.
        subject: Whom it concerned, for example a profile id or an email hash.
        detail: Extra JSON data about the exchange (read-only).

    Raises:
        ValueError: If ``at`` is naive, ``direction`` is unknown or ``detail`` is not JSON data.
    """

    at: datetime
    direction: Direction
    operation: str
    subject: str
    detail: Mapping[str, JSONValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        """Validate the entry and freeze a redacted copy of ``detail``."""
        to_micros(self.at, what="AuditEntry.at")
        if self.direction not in ("sent", "received"):
            msg = f"AuditEntry.direction must be 'sent' or 'received', got {self.direction!r}"
            raise ValueError(msg)
        try:
            frozen = loads(redact(dumps(dict(self.detail))))
        except TypeError as exc:
            raise ValueError(f"AuditEntry.detail must be JSON data: {exc}") from exc
        object.__setattr__(self, "detail", MappingProxyType(frozen))  # type: ignore[arg-type]


def audit_detail_text(entry: AuditEntry) -> str:
    """Return ``entry.detail`` as the JSON text backends store."""
    return dumps(dict(entry.detail))


def audit_from_row(
    at_micros: int, direction: str, operation: str, subject: str, detail: str
) -> AuditEntry:
    """Rebuild an :class:`AuditEntry` from stored columns."""
    value = loads(detail)
    return AuditEntry(
        at=from_micros(at_micros),
        direction="sent" if direction == "sent" else "received",
        operation=operation,
        subject=subject,
        detail=value if isinstance(value, dict) else {},
    )


@runtime_checkable
class StateStore(Protocol):
    """Durable state an integration keeps between runs.

    All datetimes must be timezone-aware; stored values come back in UTC with microsecond
    precision. Implementations are safe to share between threads.
    """

    def get_cursor(self, name: str) -> str | None:
        """Return the opaque sync cursor saved under ``name``, or ``None``."""

    def set_cursor(self, name: str, value: str) -> None:
        """Save the sync cursor ``value`` under ``name``, replacing any previous one."""

    def get_cursors(self, names: Iterable[str]) -> dict[str, str]:
        """Return the saved cursors among ``names`` (absent names are left out), in one read."""

    def set_cursors(self, values: Mapping[str, str]) -> None:
        """Save several cursors at once, all or none (one transaction where there are any)."""

    def get_watermark(self, name: str) -> datetime | None:
        """Return the watermark saved under ``name``, or ``None``."""

    def advance_watermark(self, name: str, value: datetime) -> datetime:
        """Move the watermark ``name`` forward to ``value``; it never moves backwards.

        Returns:
            The stored watermark after the call (``value`` or a later one already stored).
        """

    def get_record_sync(self, kind: str, record_id: str) -> RecordSync | None:
        """Return the last stored sync of a record, or ``None``."""

    def record_sync(self, kind: str, record_id: str, *, updated_at: datetime, source: str) -> bool:
        """Store a record version if it is newer than the stored one (last write wins).

        Returns:
            ``True`` if ``updated_at`` was newer (or nothing was stored) and it is now stored;
            ``False`` if an equal or newer version is already stored (nothing changes).
        """

    def get_record_syncs(self, kind: str, record_ids: Iterable[str]) -> dict[str, RecordSync]:
        """Return the stored syncs among ``record_ids`` of ``kind``, in one read."""

    def record_syncs(self, kind: str, versions: Mapping[str, datetime], *, source: str) -> None:
        """Store each record version (id to ``updated_at``) newer than the stored one, at once.

        The same rule as :meth:`record_sync` per record (a version never moves backwards),
        without reporting which were newer.
        """

    def claim_delivery(self, key: str, *, ttl: float) -> bool:
        """Atomically claim a delivery id (for example a webhook id) for ``ttl`` seconds.

        Returns:
            ``True`` if the key was unseen (or its claim expired) and is now claimed by the
            caller; ``False`` if it is already claimed or processed.
        """

    def release_delivery(self, key: str) -> None:
        """Forget a claim so that a failed delivery can be processed again."""

    def claim_deliveries(self, keys: Sequence[str], *, ttl: float) -> set[str]:
        """Claim several keys at once (each atomically, as :meth:`claim_delivery` does).

        Returns:
            The keys now claimed by the caller; the others were claimed already.
        """

    def keep_deliveries(self, keys: Sequence[str], *, ttl: float) -> None:
        """Set the claims on ``keys`` to expire ``ttl`` seconds from now.

        A processed event's claim then outlives the short one taken while it ran.
        """

    def release_deliveries(self, keys: Sequence[str]) -> None:
        """Forget several claims at once."""

    def append_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log."""

    def iter_audit(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> Iterator[AuditEntry]:
        """Yield audit entries at or after ``since``, oldest first, at most ``limit`` of them."""

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
