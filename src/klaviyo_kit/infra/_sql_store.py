"""A :class:`StateStore` on SQLAlchemy Core: a SQLite file by default, PostgreSQL for production."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from klaviyo_kit.errors import BackendUnavailableError
from klaviyo_kit.infra._clock import from_micros, seconds_to_micros, to_micros
from klaviyo_kit.infra._sql_schema import (
    Tables,
    build_tables,
    ensure_schema,
    postgresql,
    sa,
    sqlite,
)
from klaviyo_kit.infra._store import AuditEntry, RecordSync, audit_detail_text, audit_from_row

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from datetime import datetime

_BACKEND = "sql store"
_SWEEP_EVERY = 1000
_BUSY_TIMEOUT_S = 30.0
_CONNECT_TIMEOUT_S = 10


def _engine_for(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        options: dict[str, Any] = {"connect_args": {"timeout": _BUSY_TIMEOUT_S}}
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = sa.StaticPool
        engine = sa.create_engine(parsed, **options)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        msg = f"SQLStateStore supports sqlite and postgresql URLs, not {parsed.drivername!r}"
        raise ValueError(msg)
    options = {} if "connect_timeout" in parsed.query else {"connect_timeout": _CONNECT_TIMEOUT_S}
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=options)


def _is_outage(exc: sa.exc.SQLAlchemyError) -> bool:
    """Tell a database that cannot be reached or used now from a mistake in a statement.

    Operational and interface errors (refused, dropped or timed-out connections, a locked
    SQLite file, a server shutting down), invalidated connections and pool timeouts are
    outages; integrity, programming and data errors are not.
    """
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, (sa.exc.OperationalError, sa.exc.InterfaceError)
        )
    return isinstance(exc, (sa.exc.DisconnectionError, sa.exc.TimeoutError))


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        _wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent: once done, later connections only read the mode).

    The switch needs a moment of exclusive access and SQLite answers ``database is locked`` at
    once, without its busy handler, when processes open a new file together: retry it within
    the busy timeout.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:  # noqa: PERF203 - a retry, once per connection
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        else:
            return


_CHUNK = 500  # names per IN (...): well under SQLite's bound-variable limit


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = iter(values)
    while chunk := list(itertools.islice(items, _CHUNK)):
        yield chunk


class SQLStateStore:
    """A :class:`StateStore` in a SQL database, created or migrated on first use.

    SQLite (the embedded default, one file) and PostgreSQL are supported; every operation is a
    single atomic statement, so threads and processes may share one database. Put your own
    tables on :attr:`metadata` and call :meth:`ensure_schema` to create them beside ours.

    When the database cannot be reached or used (refused, dropped or timed-out connections, a
    SQLite file locked past its 30 s busy timeout), every operation raises
    :class:`~klaviyo_kit.errors.BackendUnavailableError` with the SQLAlchemy error chained, at
    once or after a bounded wait (PostgreSQL connects time out after 10 s unless the URL sets
    ``connect_timeout``). The message shows the URL without its password. Other database errors
    (a bug in a statement, a violated constraint) are raised unchanged.

    Args:
        url: A SQLAlchemy URL. ``postgresql://`` means ``postgresql+psycopg://`` (the
            ``postgres`` extra).
        table_prefix: Prefix of every table name, so several stores can share a database.
        clock: Seconds since the epoch, used for delivery-claim expiry; inject a fake in tests.

    Attributes:
        engine: The SQLAlchemy engine.
        metadata: The SQLAlchemy metadata holding the store's tables.

    Raises:
        ValueError: If the URL's database is neither SQLite nor PostgreSQL, or the prefix is
            not a plain lowercase identifier.
        ImportError: If SQLAlchemy (or the database driver) is not installed.

    Every operation also raises :class:`~klaviyo_kit.errors.BackendUnavailableError` when the
    database is unavailable.

    Example:
        >>> store = SQLStateStore("sqlite:///:memory:")
        >>> store.set_cursor("profiles", "page-2")
        >>> store.get_cursor("profiles")
        'page-2'
        >>> store.close()
    """

    def __init__(
        self,
        url: str = "sqlite:///klaviyo_kit_state.sqlite3",
        *,
        table_prefix: str = "klaviyo_kit_",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Connect lazily to ``url``; tables are created on first use."""
        self.metadata = sa.MetaData()
        self._tables: Tables = build_tables(self.metadata, table_prefix)
        self.engine = _engine_for(url)
        self._dialect = self.engine.dialect.name
        self._clock = clock
        self._ready = False
        self._ready_lock = threading.Lock()
        self._claims = itertools.count(1)

    def __repr__(self) -> str:
        """Show the database without its password."""
        return f"SQLStateStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def ensure_schema(self) -> None:
        """Create or migrate the tables now, including any you added to :attr:`metadata`.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            RuntimeError: If the database was migrated by a newer klaviyo-kit.
        """
        with self._unavailable(), self._ready_lock:
            self._create_schema()

    def _create_schema(self) -> None:
        """Create the tables (the caller holds ``_ready_lock``)."""
        # One connection first: a database that is down fails once, not once per schema retry.
        with self.engine.connect():
            pass
        ensure_schema(self.engine, self.metadata, self._tables)
        self._ready = True

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        """Turn a database outage inside the block into :class:`BackendUnavailableError`."""
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            if not _is_outage(exc):
                raise
            raise BackendUnavailableError(_BACKEND, self._describe(exc)) from exc

    def _describe(self, exc: sa.exc.SQLAlchemyError) -> str:
        """Return the URL without its password and the driver's first line of error."""
        url = self.engine.url
        cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
        lines = str(cause).strip().splitlines() or [""]
        text = f"{url.render_as_string(hide_password=True)}: {type(cause).__name__}: {lines[0]}"
        return text.replace(url.password, "***") if url.password else text

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """Open a transaction (creating the tables on first use); map outages inside it."""
        with self._unavailable():
            if not self._ready:
                with self._ready_lock:
                    if not self._ready:
                        self._create_schema()
            with self.engine.begin() as conn:
                yield conn

    def _upsert(self, table: sa.Table) -> Any:
        """The dialect's INSERT (it has ``ON CONFLICT``), without values: for many rows at once."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _insert(self, table: sa.Table, values: Mapping[str, object]) -> Any:
        return self._upsert(table).values(dict(values))

    def get_cursor(self, name: str) -> str | None:
        """Return the opaque sync cursor saved under ``name``, or ``None``.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        table = self._tables.cursors
        with self._begin() as conn:
            query = sa.select(table.c.value).where(table.c.name == name)
            value: str | None = conn.execute(query).scalar_one_or_none()
        return value

    def set_cursor(self, name: str, value: str) -> None:
        """Save the sync cursor ``value`` under ``name``, replacing any previous one.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        stmt = self._insert(self._tables.cursors, {"name": name, "value": value})
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": stmt.excluded.value}
        )
        with self._begin() as conn:
            conn.execute(stmt)

    def get_cursors(self, names: Iterable[str]) -> dict[str, str]:
        """Return the saved cursors among ``names`` (absent names are left out).

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        table = self._tables.cursors
        query = sa.select(table.c.name, table.c.value).where(
            table.c.name.in_(sa.bindparam("names", expanding=True))
        )
        found: dict[str, str] = {}
        with self._begin() as conn:
            for chunk in _chunks(names):
                found.update((row.name, row.value) for row in conn.execute(query, {"names": chunk}))
        return found

    def set_cursors(self, values: Mapping[str, str]) -> None:
        """Save several cursors in one transaction, all or none.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        if not values:
            return
        stmt = self._upsert(self._tables.cursors)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": stmt.excluded.value}
        )
        with self._begin() as conn:
            conn.execute(stmt, [{"name": k, "value": v} for k, v in values.items()])

    def get_watermark(self, name: str) -> datetime | None:
        """Return the watermark saved under ``name``, or ``None``.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        table = self._tables.watermarks
        with self._begin() as conn:
            query = sa.select(table.c.value).where(table.c.name == name)
            micros: int | None = conn.execute(query).scalar_one_or_none()
        return None if micros is None else from_micros(micros)

    def advance_watermark(self, name: str, value: datetime) -> datetime:
        """Move the watermark forward to ``value`` (never backwards); return the stored value.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If ``value`` is naive.
        """
        table = self._tables.watermarks
        stmt = self._insert(table, {"name": name, "value": to_micros(value, what="watermark")})
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value},
            where=table.c.value < stmt.excluded.value,
        )
        with self._begin() as conn:
            conn.execute(stmt)
            stored: int = conn.execute(
                sa.select(table.c.value).where(table.c.name == name)
            ).scalar_one()
        return from_micros(stored)

    def get_record_sync(self, kind: str, record_id: str) -> RecordSync | None:
        """Return the last stored sync of a record, or ``None``.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        table = self._tables.records
        query = sa.select(table.c.updated_at, table.c.source).where(
            table.c.kind == kind, table.c.record_id == record_id
        )
        with self._begin() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        return RecordSync(kind, record_id, from_micros(row.updated_at), row.source)

    def record_sync(self, kind: str, record_id: str, *, updated_at: datetime, source: str) -> bool:
        """Store the version if newer than the stored one; return whether it was stored.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If ``updated_at`` is naive.
        """
        table = self._tables.records
        micros = to_micros(updated_at, what="updated_at")
        stmt = self._insert(
            table, {"kind": kind, "record_id": record_id, "updated_at": micros, "source": source}
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "record_id"],
            set_={"updated_at": stmt.excluded.updated_at, "source": stmt.excluded.source},
            where=table.c.updated_at < stmt.excluded.updated_at,
        ).returning(table.c.kind)
        with self._begin() as conn:
            return conn.execute(stmt).first() is not None

    def get_record_syncs(self, kind: str, record_ids: Iterable[str]) -> dict[str, RecordSync]:
        """Return the stored syncs among ``record_ids`` of ``kind``.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        table = self._tables.records
        query = sa.select(table.c.record_id, table.c.updated_at, table.c.source).where(
            table.c.kind == kind, table.c.record_id.in_(sa.bindparam("ids", expanding=True))
        )
        found: dict[str, RecordSync] = {}
        with self._begin() as conn:
            for chunk in _chunks(record_ids):
                for row in conn.execute(query, {"ids": chunk}):
                    found[row.record_id] = RecordSync(
                        kind, row.record_id, from_micros(row.updated_at), row.source
                    )
        return found

    def record_syncs(self, kind: str, versions: Mapping[str, datetime], *, source: str) -> None:
        """Store each version newer than the stored one, in one transaction.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If an ``updated_at`` is naive (nothing is stored then).
        """
        rows = [
            {
                "kind": kind,
                "record_id": record_id,
                "updated_at": to_micros(at, what="updated_at"),
                "source": source,
            }
            for record_id, at in versions.items()
        ]
        if not rows:
            return
        table = self._tables.records
        stmt = self._upsert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "record_id"],
            set_={"updated_at": stmt.excluded.updated_at, "source": stmt.excluded.source},
            where=table.c.updated_at < stmt.excluded.updated_at,
        )
        with self._begin() as conn:
            conn.execute(stmt, rows)

    def claim_delivery(self, key: str, *, ttl: float) -> bool:
        """Claim ``key`` for ``ttl`` seconds; ``False`` if it is already claimed.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If ``ttl`` is not positive.
        """
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        table = self._tables.deliveries
        now = seconds_to_micros(self._clock())
        stmt = self._insert(table, {"key": key, "expires_at": now + seconds_to_micros(ttl)})
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"expires_at": stmt.excluded.expires_at},
            where=table.c.expires_at <= now,
        ).returning(table.c.key)
        sweep = next(self._claims) % _SWEEP_EVERY == 0
        with self._begin() as conn:  # one transaction: an outage cannot split claim and sweep
            if sweep:
                conn.execute(sa.delete(table).where(table.c.expires_at <= now))
            return conn.execute(stmt).first() is not None

    def release_delivery(self, key: str) -> None:
        """Forget the claim on ``key`` so that the delivery can be processed again.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        table = self._tables.deliveries
        with self._begin() as conn:
            conn.execute(sa.delete(table).where(table.c.key == key))

    def claim_deliveries(self, keys: Sequence[str], *, ttl: float) -> set[str]:
        """Claim each key for ``ttl`` seconds, in one transaction; return the keys that were free.

        Each claim is the same atomic upsert as :meth:`claim_delivery`, sent as one statement
        for the batch.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If ``ttl`` is not positive.
        """
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        table = self._tables.deliveries
        now = seconds_to_micros(self._clock())
        expires = now + seconds_to_micros(ttl)
        if self._dialect == "postgresql":
            # One short statement with the keys as an array: a VALUES list of 1,000 rows is a
            # new query text each time, which the driver parses anew (most of the cost).
            source = sa.select(
                sa.func.unnest(sa.bindparam("keys", type_=postgresql.ARRAY(sa.Text()))),
                sa.literal(expires, sa.BigInteger()),
            )
            insert: Any = postgresql.insert(table).from_select(["key", "expires_at"], source)
        else:
            insert = self._upsert(table)
        stmt = insert.on_conflict_do_update(
            index_elements=["key"],
            set_={"expires_at": insert.excluded.expires_at},
            where=table.c.expires_at <= now,
        ).returning(table.c.key)
        claimed: set[str] = set()
        counts = [next(self._claims) for _ in wanted]  # sweep as often as one by one would
        sweep = any(count % _SWEEP_EVERY == 0 for count in counts)
        with self._begin() as conn:
            if sweep:
                conn.execute(sa.delete(table).where(table.c.expires_at <= now))
            if self._dialect == "postgresql":
                claimed.update(row.key for row in conn.execute(stmt, {"keys": wanted}))
                return claimed
            for chunk in _chunks(wanted):
                rows = [{"key": key, "expires_at": expires} for key in chunk]
                claimed.update(row.key for row in conn.execute(stmt, rows))
        return claimed

    def keep_deliveries(self, keys: Sequence[str], *, ttl: float) -> None:
        """Make the claims on ``keys`` expire ``ttl`` seconds from now, in one transaction.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If ``ttl`` is not positive.
        """
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        if not keys:
            return
        table = self._tables.deliveries
        expires = seconds_to_micros(self._clock()) + seconds_to_micros(ttl)
        stmt = sa.update(table).where(self._key_in(table)).values(expires_at=expires)
        with self._begin() as conn:
            for chunk in self._key_batches(keys):
                conn.execute(stmt, {"keys": chunk})

    def release_deliveries(self, keys: Sequence[str]) -> None:
        """Forget the claims on ``keys``, in one transaction.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        if not keys:
            return
        table = self._tables.deliveries
        stmt = sa.delete(table).where(self._key_in(table))
        with self._begin() as conn:
            for chunk in self._key_batches(keys):
                conn.execute(stmt, {"keys": chunk})

    def _key_in(self, table: sa.Table) -> Any:
        """``key`` among the ``keys`` parameter.

        ``= ANY(array)`` on PostgreSQL (one short statement, however many keys), an expanding
        ``IN`` elsewhere.
        """
        if self._dialect == "postgresql":
            return table.c.key == sa.any_(sa.bindparam("keys", type_=postgresql.ARRAY(sa.Text())))
        return table.c.key.in_(sa.bindparam("keys", expanding=True))

    def _key_batches(self, keys: Sequence[str]) -> Iterator[list[str]]:
        """All keys at once for an array parameter; chunks under SQLite's variable limit."""
        if self._dialect == "postgresql":
            yield list(keys)
        else:
            yield from _chunks(keys)

    def append_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
        """
        values = {
            "at": to_micros(entry.at),
            "direction": entry.direction,
            "operation": entry.operation,
            "subject": entry.subject,
            "detail": audit_detail_text(entry),
        }
        with self._begin() as conn:
            conn.execute(sa.insert(self._tables.audit).values(values))

    def iter_audit(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> Iterator[AuditEntry]:
        """Yield audit entries at or after ``since``, oldest first, at most ``limit`` of them.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If the database is unavailable.
            ValueError: If ``since`` is naive or ``limit`` is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit!r}")
        table = self._tables.audit
        cols = (table.c.at, table.c.direction, table.c.operation, table.c.subject, table.c.detail)
        query = sa.select(*cols).order_by(table.c.at, table.c.id)
        if since is not None:
            query = query.where(table.c.at >= to_micros(since, what="since"))
        if limit is not None:
            query = query.limit(limit)
        with self._begin() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            yield audit_from_row(*row)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
