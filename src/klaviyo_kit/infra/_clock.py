"""Conversions between aware datetimes and the integer microseconds backends store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: datetime, *, what: str = "datetime") -> int:
    """Return ``value`` as whole microseconds since the Unix epoch.

    Raises:
        ValueError: If ``value`` is naive: a time without a zone cannot be ordered safely.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{what} must be timezone-aware (for example datetime.now(timezone.utc))"
        raise ValueError(msg)
    return (value - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """Return the UTC datetime ``micros`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def seconds_to_micros(seconds: float) -> int:
    """Return a clock reading in seconds as whole microseconds."""
    return round(seconds * 1_000_000)
