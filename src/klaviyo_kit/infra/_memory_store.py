"""An in-process :class:`StateStore` for tests and single-process scripts."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from klaviyo_kit.infra._clock import from_micros, seconds_to_micros, to_micros
from klaviyo_kit.infra._store import (
    AuditEntry,
    RecordSync,
    audit_detail_text,
    audit_from_row,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from datetime import datetime

_SWEEP_EVERY = 1024


class MemoryStateStore:
    """A :class:`StateStore` held in memory; thread-safe, lost when the process ends.

    Args:
        clock: Seconds since the epoch, used for delivery-claim expiry; inject a fake in tests.

    Example:
        >>> from datetime import datetime, timezone
        >>> store = MemoryStateStore()
        >>> store.claim_delivery("wh_1", ttl=3600), store.claim_delivery("wh_1", ttl=3600)
        (True, False)
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """Create an empty store."""
        self._clock = clock
        self._lock = threading.Lock()
        self._cursors: dict[str, str] = {}
        self._watermarks: dict[str, int] = {}
        self._records: dict[tuple[str, str], tuple[int, str]] = {}
        self._claims: dict[str, int] = {}
        self._audit: list[tuple[int, str, str, str, str]] = []

    def get_cursor(self, name: str) -> str | None:
        """Return the opaque sync cursor saved under ``name``, or ``None``."""
        with self._lock:
            return self._cursors.get(name)

    def set_cursor(self, name: str, value: str) -> None:
        """Save the sync cursor ``value`` under ``name``, replacing any previous one."""
        with self._lock:
            self._cursors[name] = value

    def get_cursors(self, names: Iterable[str]) -> dict[str, str]:
        """Return the saved cursors among ``names`` (absent names are left out)."""
        with self._lock:
            return {name: self._cursors[name] for name in names if name in self._cursors}

    def set_cursors(self, values: Mapping[str, str]) -> None:
        """Save several cursors at once."""
        with self._lock:
            self._cursors.update(values)

    def get_watermark(self, name: str) -> datetime | None:
        """Return the watermark saved under ``name``, or ``None``."""
        with self._lock:
            stored = self._watermarks.get(name)
        return None if stored is None else from_micros(stored)

    def advance_watermark(self, name: str, value: datetime) -> datetime:
        """Move the watermark forward to ``value`` (never backwards); return the stored value.

        Raises:
            ValueError: If ``value`` is naive.
        """
        micros = to_micros(value, what="watermark")
        with self._lock:
            stored = max(micros, self._watermarks.get(name, micros))
            self._watermarks[name] = stored
        return from_micros(stored)

    def get_record_sync(self, kind: str, record_id: str) -> RecordSync | None:
        """Return the last stored sync of a record, or ``None``."""
        with self._lock:
            stored = self._records.get((kind, record_id))
        if stored is None:
            return None
        return RecordSync(kind, record_id, from_micros(stored[0]), stored[1])

    def record_sync(self, kind: str, record_id: str, *, updated_at: datetime, source: str) -> bool:
        """Store the version if newer than the stored one; return whether it was stored.

        Raises:
            ValueError: If ``updated_at`` is naive.
        """
        micros = to_micros(updated_at, what="updated_at")
        with self._lock:
            stored = self._records.get((kind, record_id))
            if stored is not None and stored[0] >= micros:
                return False
            self._records[kind, record_id] = (micros, source)
            return True

    def get_record_syncs(self, kind: str, record_ids: Iterable[str]) -> dict[str, RecordSync]:
        """Return the stored syncs among ``record_ids`` of ``kind``."""
        with self._lock:
            found = {i: self._records[kind, i] for i in record_ids if (kind, i) in self._records}
        return {i: RecordSync(kind, i, from_micros(at), src) for i, (at, src) in found.items()}

    def record_syncs(self, kind: str, versions: Mapping[str, datetime], *, source: str) -> None:
        """Store each version newer than the stored one.

        Raises:
            ValueError: If an ``updated_at`` is naive (nothing is stored then).
        """
        micros = {i: to_micros(at, what="updated_at") for i, at in versions.items()}
        with self._lock:
            for record_id, at in micros.items():
                stored = self._records.get((kind, record_id))
                if stored is None or stored[0] < at:
                    self._records[kind, record_id] = (at, source)

    def claim_delivery(self, key: str, *, ttl: float) -> bool:
        """Claim ``key`` for ``ttl`` seconds; ``False`` if it is already claimed.

        Raises:
            ValueError: If ``ttl`` is not positive.
        """
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        now = seconds_to_micros(self._clock())
        with self._lock:
            expires = self._claims.get(key)
            if expires is not None and expires > now:
                return False
            self._claims[key] = now + seconds_to_micros(ttl)
            if len(self._claims) % _SWEEP_EVERY == 0:
                self._claims = {k: v for k, v in self._claims.items() if v > now}
            return True

    def release_delivery(self, key: str) -> None:
        """Forget the claim on ``key`` so that the delivery can be processed again."""
        with self._lock:
            self._claims.pop(key, None)

    def claim_deliveries(self, keys: Sequence[str], *, ttl: float) -> set[str]:
        """Claim each key for ``ttl`` seconds; return the keys that were free.

        Raises:
            ValueError: If ``ttl`` is not positive.
        """
        return {key for key in dict.fromkeys(keys) if self.claim_delivery(key, ttl=ttl)}

    def keep_deliveries(self, keys: Sequence[str], *, ttl: float) -> None:
        """Make the claims on ``keys`` expire ``ttl`` seconds from now.

        Raises:
            ValueError: If ``ttl`` is not positive.
        """
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        expires = seconds_to_micros(self._clock()) + seconds_to_micros(ttl)
        with self._lock:
            for key in keys:
                if key in self._claims:
                    self._claims[key] = expires

    def release_deliveries(self, keys: Sequence[str]) -> None:
        """Forget the claims on ``keys``."""
        with self._lock:
            for key in keys:
                self._claims.pop(key, None)

    def append_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log."""
        row = (
            to_micros(entry.at),
            entry.direction,
            entry.operation,
            entry.subject,
            audit_detail_text(entry),
        )
        with self._lock:
            self._audit.append(row)

    def iter_audit(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> Iterator[AuditEntry]:
        """Yield audit entries at or after ``since``, oldest first, at most ``limit`` of them.

        Raises:
            ValueError: If ``since`` is naive or ``limit`` is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit!r}")
        low = None if since is None else to_micros(since, what="since")
        with self._lock:
            rows = sorted(
                (row for row in self._audit if low is None or row[0] >= low),
                key=lambda row: row[0],
            )
        for row in rows if limit is None else rows[:limit]:
            yield audit_from_row(*row)

    def close(self) -> None:
        """Do nothing: a memory store holds no connections."""
