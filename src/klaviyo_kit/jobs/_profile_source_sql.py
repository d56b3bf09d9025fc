"""A :class:`ProfileSource` over the application's own users table, with SQLAlchemy Core."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from klaviyo_kit.jobs._profile_source import HostProfile, ProfileData

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from klaviyo_kit.infra import JSONValue
    from klaviyo_kit.jobs._profile_source import ProfileLookup, ProfileWrite

__all__ = ["ProfileColumns", "SQLProfileSource"]


def _engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":  # as SQLStateStore: psycopg 3, the postgres extra
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed)


@dataclass(frozen=True, slots=True)
class ProfileColumns:
    """Which column of the users table holds each synchronised field.

    Attributes:
        id: The primary key (an integer or a string).
        email: The email address.
        first_name: The first name.
        last_name: The last name.
        phone: The phone number (E.164).
        properties: Custom properties, a JSON column (or text holding JSON).
        updated_at: When the row last changed; the application must set it on every change.
    """

    id: str = "id"
    email: str = "email"
    first_name: str = "first_name"
    last_name: str = "last_name"
    phone: str = "phone"
    properties: str = "properties"
    updated_at: str = "updated_at"


class SQLProfileSource:
    """The application's users table as a :class:`ProfileSource`.

    Rows are read by ``(updated_at, id)`` (index that pair). Klaviyo's changes are written with
    Klaviyo's modification time in ``updated_at``. Naive times in the table are taken as UTC.
    SQLite keeps times as text and compares them as text: write ``updated_at`` in the format
    SQLAlchemy's ``DateTime`` writes (a raw ``sqlite3`` insert of a datetime adds ``+00:00``,
    which sorts apart from the same time written by SQLAlchemy: rows are then re-read or missed).

    Args:
        engine: A SQLAlchemy engine, or a URL to build one from (``postgresql://`` means
            ``postgresql+psycopg://``, the ``postgres`` extra).
        table: The users table, or its name (reflected on first use).
        columns: The column mapping.
        new_id: Makes the id of a row inserted for a person created in Klaviyo; ``None`` lets the
            database assign it (an autoincrement key).

    Example:
        >>> source = SQLProfileSource("sqlite:///app.db", "users")  # doctest: +SKIP
    """

    def __init__(
        self,
        engine: sa.Engine | str,
        table: sa.Table | str,
        *,
        columns: ProfileColumns | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        """Bind the source to a table; nothing is queried yet."""
        self.engine = _engine(engine) if isinstance(engine, str) else engine
        self._table_spec = table
        self._table: sa.Table | None = table if isinstance(table, sa.Table) else None
        self.columns = columns or ProfileColumns()
        self._new_id = new_id

    def __repr__(self) -> str:
        """Show the database (without its password) and the table."""
        name = self._table_spec if isinstance(self._table_spec, str) else self._table_spec.name
        url = self.engine.url.render_as_string(hide_password=True)
        return f"SQLProfileSource({url!r}, {name!r})"

    @property
    def table(self) -> sa.Table:
        """The users table (reflected from the database on first use when given by name)."""
        if self._table is None:
            self._table = sa.Table(str(self._table_spec), sa.MetaData(), autoload_with=self.engine)
        return self._table

    def _col(self, name: str) -> sa.Column[Any]:
        return self.table.c[name]

    def _key(self, local_id: str) -> object:
        kind = self._col(self.columns.id).type
        if isinstance(kind, sa.types.TypeDecorator):
            kind = kind.impl_instance
        return int(local_id) if isinstance(kind, sa.Integer) else local_id

    def _lookup_key(self, local_id: str | None) -> object | None:
        """Return the key to look ``local_id`` up by, or ``None`` when no row can have it.

        (A Klaviyo ``external_id`` set by someone else may be no integer, for an integer key.)
        """
        if local_id is None:
            return None
        try:
            return self._key(local_id)
        except ValueError:
            return None

    def _time(self, value: datetime) -> datetime:
        column = self._col(self.columns.updated_at)
        aware = value.astimezone(timezone.utc)
        return aware if getattr(column.type, "timezone", False) else aware.replace(tzinfo=None)

    def _row(self, row: sa.Row[Any]) -> HostProfile:
        c = self.columns
        values = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view
        raw = values[c.properties]
        props: Mapping[str, JSONValue] = json.loads(raw) if isinstance(raw, str) else raw or {}
        updated: datetime = values[c.updated_at]
        if updated.tzinfo is None:
            updated = updated.replace(tzinfo=timezone.utc)
        return HostProfile(
            id=str(values[c.id]),
            data=ProfileData(
                email=values[c.email],
                phone_number=values[c.phone],
                first_name=values[c.first_name],
                last_name=values[c.last_name],
                properties=dict(props),
            ),
            updated_at=updated.astimezone(timezone.utc),
        )

    def _select(self) -> sa.Select[Any]:
        c = self.columns
        names = (c.id, c.email, c.first_name, c.last_name, c.phone, c.properties, c.updated_at)
        return sa.select(*(self._col(n) for n in names))

    def changes(
        self, since: datetime | None, *, after_id: str | None = None, limit: int
    ) -> Sequence[HostProfile]:
        """Return at most ``limit`` rows changed since ``since``, by ``(updated_at, id)``."""
        updated, key = self._col(self.columns.updated_at), self._col(self.columns.id)
        query = self._select().order_by(updated, key).limit(limit)
        if since is not None:
            at = self._time(since)
            if after_id is None:
                query = query.where(updated >= at)
            else:
                after = self._key(after_id)
                query = query.where(sa.or_(updated > at, sa.and_(updated == at, key > after)))
        with self.engine.connect() as conn:
            return [self._row(row) for row in conn.execute(query)]

    @functools.cached_property
    def _statements(self) -> _Statements:
        """The lookups and writes, built once (building one per row cost more than running it)."""
        c = self.columns
        key, email = self._col(c.id), self._col(c.email)
        fields = (c.email, c.first_name, c.last_name, c.phone, c.properties, c.updated_at)
        insert = sa.insert(self.table)
        dialect = self.engine.dialect
        returning = self._new_id is None and bool(
            getattr(dialect, "insert_executemany_returning_sort_by_parameter_order", False)
        )
        return _Statements(
            by_id=self._select().where(key.in_(sa.bindparam("b_keys", expanding=True))),
            # An index on the email column serves this (a lower() on the column would scan the
            # table on every lookup): the addresses as given, and lower-cased.
            by_email=self._select().where(email.in_(sa.bindparam("b_emails", expanding=True))),
            update=sa.update(self.table)
            .where(key == sa.bindparam("b_key"))
            .values({name: sa.bindparam(f"b_{name}") for name in fields}),
            insert=insert,
            insert_many=insert.returning(key, sort_by_parameter_order=True) if returning else None,
            json_properties=isinstance(self._col(c.properties).type, sa.JSON),
        )

    def find(self, lookups: Sequence[ProfileLookup]) -> list[HostProfile | None]:
        """Return each lookup's row: by id, else by email (as given or lower-cased), else ``None``.

        Two queries for the whole batch. Index the email column: every pulled profile not yet
        linked is looked up by email.
        """
        statements = self._statements
        keys = {k for x in lookups if (k := self._lookup_key(x.local_id)) is not None}
        by_id: dict[str, HostProfile] = {}
        by_email: dict[str, HostProfile] = {}
        with self.engine.connect() as conn:
            if keys:
                for row in conn.execute(statements.by_id, {"b_keys": sorted(keys, key=str)}):
                    found = self._row(row)
                    by_id[found.id] = found
            emails = {
                variant
                for x in lookups
                if x.email and (x.local_id is None or x.local_id not in by_id)
                for variant in (x.email.strip(), x.email.strip().lower())
            }
            if emails:
                for row in conn.execute(statements.by_email, {"b_emails": sorted(emails)}):
                    found = self._row(row)
                    if found.data.email is not None:
                        by_email.setdefault(found.data.email, found)
        results: list[HostProfile | None] = []
        for lookup in lookups:
            match = by_id.get(lookup.local_id) if lookup.local_id is not None else None
            if match is None and lookup.email:
                given = lookup.email.strip()
                match = by_email.get(given) or by_email.get(given.lower())
            results.append(match)
        return results

    def _values(self, write: ProfileWrite) -> dict[str, object]:
        c, data = self.columns, write.data
        props = dict(data.properties)
        return {
            c.email: data.email,
            c.first_name: data.first_name,
            c.last_name: data.last_name,
            c.phone: data.phone_number,
            c.properties: props if self._statements.json_properties else json.dumps(props),
            c.updated_at: self._time(write.updated_at),
        }

    def apply(self, writes: Sequence[ProfileWrite]) -> list[str]:
        """Update (``local_id`` set) or insert each row, in one transaction; return the ids."""
        statements = self._statements
        ids: list[str | None] = [w.local_id for w in writes]
        updates = [
            {"b_key": self._key(w.local_id), **{f"b_{k}": v for k, v in self._values(w).items()}}
            for w in writes
            if w.local_id is not None
        ]
        new = [i for i, w in enumerate(writes) if w.local_id is None]
        inserts = [self._values(writes[i]) for i in new]
        if self._new_id is not None:
            for i, values in zip(new, inserts, strict=True):
                values[self.columns.id] = self._key(self._new_id())
                ids[i] = str(values[self.columns.id])
        with self.engine.begin() as conn:
            if updates:
                conn.execute(statements.update, updates)
            if inserts and self._new_id is not None:
                conn.execute(statements.insert, inserts)
            elif inserts and statements.insert_many is not None:
                rows = conn.execute(statements.insert_many, inserts).all()
                for i, row in zip(new, rows, strict=True):
                    ids[i] = str(row[0])
            else:
                for i, values in zip(new, inserts, strict=True):
                    primary = conn.execute(statements.insert, values).inserted_primary_key
                    ids[i] = str(primary[0] if primary else "")
        return [str(i) for i in ids]


@dataclass(frozen=True, slots=True)
class _Statements:
    by_id: sa.Select[Any]
    by_email: sa.Select[Any]
    update: sa.Update
    insert: sa.Insert
    insert_many: sa.Insert | None
    json_properties: bool
