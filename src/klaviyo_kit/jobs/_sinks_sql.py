"""``SQLSink``: exported aggregates and events in SQL tables (SQLite or PostgreSQL, via Core).

Aggregates are upserted by ``(metric_id, day)``; events are inserted with ``ON CONFLICT DO
NOTHING`` on ``event_id``, so writing a page twice adds nothing and the count of added rows is
exact. Each page is one transaction.
"""

from __future__ import annotations

import threading
from datetime import timezone
from typing import TYPE_CHECKING, Any

try:
    import sqlalchemy as sa
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "sqlalchemy is not installed: pip install 'klaviyo-kit[sql]'"
    raise ImportError(msg, name="sqlalchemy") from exc

from klaviyo_kit.jobs._sinks import DailyAggregate, ExportedEvent

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = ["SQLSink"]

_DIALECTS = frozenset({"sqlite", "postgresql"})


class SQLSink:
    """Write exported rows to ``<prefix>metric_aggregates`` and ``<prefix>metric_events``.

    Tables are created on first use. ``day`` is a ``DATE``, ``datetime`` a timezone-aware
    timestamp, ``properties`` JSON: ready for a BI tool to read.

    Args:
        engine: A SQLAlchemy engine or URL (``sqlite:///export.db``,
            ``postgresql+psycopg://user@host/db``).
        table_prefix: Prefix of both table names.
        metadata: Where the tables are declared (a fresh ``MetaData`` when ``None``).

    Raises:
        ValueError: If the database is neither SQLite nor PostgreSQL.

    Example:
        ```python
        sink = SQLSink("postgresql+psycopg://bi@db/analytics", table_prefix="klaviyo_")
        MetricsExportJob(client, store, sink, metrics=["Placed Order"]).run()
        ```
    """

    def __init__(
        self,
        engine: sa.Engine | str,
        *,
        table_prefix: str = "klaviyo_kit_",
        metadata: sa.MetaData | None = None,
    ) -> None:
        """Declare the tables; nothing is sent to the database yet."""
        self._owns_engine = isinstance(engine, str)
        self.engine = sa.create_engine(engine) if isinstance(engine, str) else engine
        if self.engine.dialect.name not in _DIALECTS:
            msg = f"SQLSink supports SQLite and PostgreSQL, not {self.engine.dialect.name!r}"
            raise ValueError(msg)
        self.metadata = metadata if metadata is not None else sa.MetaData()
        self.aggregates, self.events = _tables(self.metadata, table_prefix)
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Show the database without its password."""
        return f"SQLSink({self.engine.url.render_as_string(hide_password=True)!r})"

    def ensure_schema(self) -> None:
        """Create both tables now if they do not exist."""
        with self._lock:
            self.metadata.create_all(self.engine, tables=[self.aggregates, self.events])
            self._ready = True

    def _begin(self) -> Any:
        if not self._ready:
            self.ensure_schema()
        return self.engine.begin()

    def _insert(self, table: sa.Table) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - per dialect

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415 - per dialect

        return sqlite.insert(table)

    def write_aggregates(self, rows: Iterable[DailyAggregate]) -> int:
        """Upsert ``rows`` by ``(metric_id, day)`` in one transaction."""
        values = {(r.metric_id, r.day): _aggregate_values(r) for r in rows}
        if not values:
            return 0
        stmt = self._insert(self.aggregates)
        updated = ("metric_name", "timezone", "count", "sum_value", "unique_profiles")
        stmt = stmt.on_conflict_do_update(
            index_elements=["metric_id", "day"],
            set_={name: stmt.excluded[name] for name in updated},
        )
        with self._begin() as conn:
            conn.execute(stmt, list(values.values()))
        return len(values)

    def write_events(self, events: Iterable[ExportedEvent]) -> int:
        """Insert ``events`` whose ids are not stored yet, in one transaction."""
        values = {e.event_id: _event_values(e) for e in events}
        if not values:
            return 0
        stmt = self._insert(self.events).on_conflict_do_nothing(index_elements=["event_id"])
        with self._begin() as conn:
            result = conn.execute(stmt.returning(self.events.c.event_id), list(values.values()))
            return len(result.all())

    def read_aggregates(self) -> list[DailyAggregate]:
        """Return the stored aggregate rows, ordered by key (for checks and tests)."""
        table = self.aggregates
        with self._begin() as conn:
            query = sa.select(table).order_by(table.c.metric_id, table.c.day)
            return [DailyAggregate(**row) for row in conn.execute(query).mappings()]

    def iter_events(self) -> Iterator[dict[str, object]]:
        """Yield the stored events ordered by time, streamed from the database."""
        table = self.events
        with self._begin() as conn:
            query = sa.select(table).order_by(table.c.datetime, table.c.event_id)
            for row in conn.execution_options(yield_per=1000).execute(query).mappings():
                yield dict(row)

    def close(self) -> None:
        """Dispose of the engine if this sink created it from a URL."""
        if self._owns_engine:
            self.engine.dispose()


def _tables(metadata: sa.MetaData, prefix: str) -> tuple[sa.Table, sa.Table]:
    names = (f"{prefix}metric_aggregates", f"{prefix}metric_events")
    if all(name in metadata.tables for name in names):
        return metadata.tables[names[0]], metadata.tables[names[1]]
    ident = sa.String(64)
    aggregates = sa.Table(
        names[0],
        metadata,
        sa.Column("metric_id", ident, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("metric_name", sa.String(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum_value", sa.Float, nullable=False),
        sa.Column("unique_profiles", sa.BigInteger, nullable=False),
    )
    events = sa.Table(
        names[1],
        metadata,
        sa.Column("event_id", ident, primary_key=True),
        sa.Column("metric_id", ident, nullable=False),
        sa.Column("profile_id", ident, nullable=True),
        sa.Column("datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("uuid", sa.String(64), nullable=True),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Index(f"{names[1]}_metric_time", "metric_id", "datetime"),
    )
    return aggregates, events


def _aggregate_values(row: DailyAggregate) -> dict[str, object]:
    return {
        "metric_id": row.metric_id,
        "day": row.day,
        "metric_name": row.metric_name,
        "timezone": row.timezone,
        "count": row.count,
        "sum_value": row.sum_value,
        "unique_profiles": row.unique_profiles,
    }


def _event_values(event: ExportedEvent) -> Mapping[str, object]:
    return {
        "event_id": event.event_id,
        "metric_id": event.metric_id,
        "profile_id": event.profile_id,
        "datetime": event.time.astimezone(timezone.utc),
        "value": event.value,
        "uuid": event.uuid,
        "properties": dict(event.properties),
    }
