"""Tables of :class:`SQLStateStore` and their creation or migration on first use."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

try:
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.dialects import postgresql, sqlite
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "sqlalchemy is not installed: pip install 'klaviyo-kit[sql]'"
    raise ImportError(msg, name="sqlalchemy") from exc

__all__ = [
    "SCHEMA_VERSION",
    "Tables",
    "build_tables",
    "ensure_schema",
    "postgresql",
    "sa",
    "sqlite",
]

SCHEMA_VERSION = 1
"""The schema version this code writes; stores refuse databases migrated by newer code."""

_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_ATTEMPTS = 5
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@dataclass(frozen=True, slots=True)
class Tables:
    """The tables a store uses, all named with its prefix."""

    version: sa.Table
    cursors: sa.Table
    watermarks: sa.Table
    records: sa.Table
    deliveries: sa.Table
    audit: sa.Table


def build_tables(metadata: sa.MetaData, prefix: str) -> Tables:
    """Declare the store's tables on ``metadata`` with names starting with ``prefix``.

    Raises:
        ValueError: If ``prefix`` is not a lowercase SQL identifier of at most 41 characters.
    """
    if _PREFIX.match(prefix) is None:
        msg = f"table_prefix must be lowercase letters, digits and '_' (got {prefix!r})"
        raise ValueError(msg)
    text, micros = sa.Text(), sa.BigInteger()
    return Tables(
        version=sa.Table(
            f"{prefix}schema",
            metadata,
            sa.Column("component", sa.String(64), primary_key=True),
            sa.Column("version", sa.Integer, nullable=False),
        ),
        cursors=sa.Table(
            f"{prefix}cursors",
            metadata,
            sa.Column("name", text, primary_key=True),
            sa.Column("value", text, nullable=False),
        ),
        watermarks=sa.Table(
            f"{prefix}watermarks",
            metadata,
            sa.Column("name", text, primary_key=True),
            sa.Column("value", micros, nullable=False),
        ),
        records=sa.Table(
            f"{prefix}record_sync",
            metadata,
            sa.Column("kind", text, primary_key=True),
            sa.Column("record_id", text, primary_key=True),
            sa.Column("updated_at", micros, nullable=False),
            sa.Column("source", text, nullable=False),
        ),
        deliveries=sa.Table(
            f"{prefix}deliveries",
            metadata,
            sa.Column("key", text, primary_key=True),
            sa.Column("expires_at", micros, nullable=False, index=True),
        ),
        audit=sa.Table(
            f"{prefix}audit",
            metadata,
            sa.Column("id", _BigId, primary_key=True, autoincrement=True),
            sa.Column("at", micros, nullable=False, index=True),
            sa.Column("direction", sa.String(8), nullable=False),
            sa.Column("operation", text, nullable=False),
            sa.Column("subject", text, nullable=False),
            sa.Column("detail", text, nullable=False),
        ),
    )


def ensure_schema(engine: sa.Engine, metadata: sa.MetaData, tables: Tables) -> None:
    """Create missing tables on ``metadata`` and record the schema version.

    Safe when several processes start at once: PostgreSQL serialises them with an advisory lock,
    and a lost ``CREATE TABLE`` race on SQLite is retried.

    Raises:
        RuntimeError: If the database was migrated by a newer klaviyo-kit.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    lock_id = zlib.crc32(tables.version.name.encode())
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
                metadata.create_all(conn, checkfirst=True)
                _record_version(conn, tables.version)
        except (sa_exc.OperationalError, sa_exc.ProgrammingError, sa_exc.IntegrityError):  # noqa: PERF203 - a lost CREATE race is retried
            if attempt == _ATTEMPTS:
                raise
        else:
            return


def _record_version(conn: sa.Connection, table: sa.Table) -> None:
    where = table.c.component == "state_store"
    found = conn.execute(sa.select(table.c.version).where(where)).scalar_one_or_none()
    if found is None:
        conn.execute(sa.insert(table).values(component="state_store", version=SCHEMA_VERSION))
    elif found > SCHEMA_VERSION:
        msg = (
            f"the state store tables are at schema version {found}, newer than this "
            f"klaviyo-kit understands ({SCHEMA_VERSION}); upgrade klaviyo-kit"
        )
        raise RuntimeError(msg)
