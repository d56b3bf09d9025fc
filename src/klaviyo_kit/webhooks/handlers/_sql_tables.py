"""The tables the SQL webhook repository keeps beside the state store's (SQLAlchemy Core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

try:
    import sqlalchemy as sa
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "sqlalchemy is not installed: pip install 'klaviyo-kit[sql]'"
    raise ImportError(msg, name="sqlalchemy") from exc

__all__ = ["WebhookTables", "build_webhook_tables", "from_micros", "sa", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(when: datetime) -> int:
    """Store a datetime as integer microseconds since the epoch (naive means UTC)."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """Read a datetime stored by :func:`to_micros`."""
    return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)


@dataclass(frozen=True, slots=True)
class WebhookTables:
    """The three tables: profile channel state, list members and engagement counts."""

    profiles: sa.Table
    members: sa.Table
    engagement: sa.Table


def build_webhook_tables(metadata: sa.MetaData, prefix: str) -> WebhookTables:
    """Add the webhook tables to ``metadata`` under ``prefix`` (or reuse them if present)."""
    names = (
        f"{prefix}webhook_profiles",
        f"{prefix}webhook_list_members",
        f"{prefix}webhook_engagement",
    )
    if all(name in metadata.tables for name in names):
        return WebhookTables(*(metadata.tables[name] for name in names))
    text = sa.String(64)
    profiles = sa.Table(
        names[0],
        metadata,
        sa.Column("profile_id", text, primary_key=True),
        sa.Column("channel", sa.String(8), primary_key=True),
        sa.Column("subscribed", sa.Boolean, nullable=True),
        sa.Column("consent_at", sa.BigInteger, nullable=True),
        sa.Column("suppressed", sa.Boolean, nullable=True),
        sa.Column("suppressed_at", sa.BigInteger, nullable=True),
    )
    members = sa.Table(
        names[1],
        metadata,
        sa.Column("list_id", text, primary_key=True),
        sa.Column("profile_id", text, primary_key=True),
        sa.Column("channel", sa.String(8), primary_key=True),
        sa.Column("subscribed", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.BigInteger, nullable=False),
        sa.Index(f"{names[1]}_profile", "profile_id", "channel"),
    )
    engagement = sa.Table(
        names[2],
        metadata,
        sa.Column("profile_id", text, primary_key=True),
        sa.Column("channel", sa.String(8), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
    )
    return WebhookTables(profiles, members, engagement)
