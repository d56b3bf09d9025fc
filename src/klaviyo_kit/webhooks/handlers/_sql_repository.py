"""``SQLWebhookRepository``: the default repository, in the state store's SQL database."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from klaviyo_kit.webhooks.handlers._sql_tables import (
    build_webhook_tables,
    from_micros,
    sa,
    to_micros,
)
from klaviyo_kit.webhooks.handlers._values import Channel, EngagementKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime

    from klaviyo_kit.infra import SQLStateStore
    from klaviyo_kit.webhooks.handlers._values import (
        ConsentChange,
        Engagement,
        MembershipChange,
        SuppressionChange,
    )

ALL_LISTS: Final = "*"
"""The ``list_id`` row under which a change to every list of a channel is remembered."""


@dataclass(frozen=True, slots=True)
class ChannelState:
    """A profile's local state on one channel.

    Attributes:
        subscribed: The last consent seen (``None`` when none was seen).
        consent_at: When that consent changed.
        suppressed: The last suppression state seen (``None`` when none was seen).
        suppressed_at: When that suppression changed.
    """

    subscribed: bool | None
    consent_at: datetime | None
    suppressed: bool | None
    suppressed_at: datetime | None


@dataclass(frozen=True, slots=True)
class EngagementSummary:
    """A profile's engagement on one channel.

    Attributes:
        profile_id: The profile.
        channel: The channel.
        counts: Events seen per kind.
        last_at: When each kind last happened.
    """

    profile_id: str
    channel: Channel
    counts: Mapping[EngagementKind, int] = field(default_factory=dict)
    last_at: Mapping[EngagementKind, datetime] = field(default_factory=dict)


def _newer(column: sa.ColumnElement[Any], incoming: sa.ColumnElement[Any]) -> Any:
    return sa.or_(column.is_(None), column <= incoming)


class SQLWebhookRepository:
    """Write webhook changes to SQL tables (SQLite or PostgreSQL) and read them back.

    Every write is one atomic upsert; consent, suppression and membership keep the latest
    change by event time, so out-of-order deliveries settle on the right state.

    Args:
        engine: The SQLAlchemy engine; use :meth:`from_store` to share the state store's.
        metadata: Where the tables are declared; a fresh ``MetaData`` when ``None``.
        table_prefix: Prefix of the table names.

    Example:
        >>> store = SQLStateStore("sqlite://")  # doctest: +SKIP
        >>> repository = SQLWebhookRepository.from_store(store)  # doctest: +SKIP
    """

    def __init__(
        self,
        engine: sa.Engine,
        metadata: sa.MetaData | None = None,
        *,
        table_prefix: str = "klaviyo_kit_",
    ) -> None:
        """Declare the tables; they are created on first use."""
        self.engine = engine
        self._tables = build_webhook_tables(
            metadata if metadata is not None else sa.MetaData(), table_prefix
        )
        self._dialect = engine.dialect.name
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_store(
        cls, store: SQLStateStore, *, table_prefix: str = "klaviyo_kit_"
    ) -> SQLWebhookRepository:
        """Keep the tables in the state store's database, declared on its metadata."""
        return cls(store.engine, store.metadata, table_prefix=table_prefix)

    def ensure_schema(self) -> None:
        """Create the tables now if they do not exist."""
        with self._lock:
            tables = [self._tables.profiles, self._tables.members, self._tables.engagement]
            for table in tables:
                table.create(self.engine, checkfirst=True)
            self._ready = True

    def _begin(self) -> Any:
        if not self._ready:
            self.ensure_schema()
        return self.engine.begin()

    def _insert(self, table: sa.Table, values: Mapping[str, object]) -> Any:
        if self._dialect == "postgresql":
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - per dialect

            return postgresql.insert(table).values(dict(values))
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415 - per dialect

        return sqlite.insert(table).values(dict(values))

    def apply_consent(self, change: ConsentChange) -> None:
        """Store a subscription change unless a later one is already stored."""
        self._upsert_profile(
            change.profile_id,
            change.channel,
            ("subscribed", change.subscribed),
            ("consent_at", change.at),
        )

    def apply_suppression(self, change: SuppressionChange) -> None:
        """Store a suppression change unless a later one is already stored."""
        self._upsert_profile(
            change.profile_id,
            change.channel,
            ("suppressed", change.suppressed),
            ("suppressed_at", change.at),
        )

    def _upsert_profile(
        self,
        profile_id: str,
        channel: Channel,
        flag: tuple[str, bool],
        stamp: tuple[str, datetime],
    ) -> None:
        table = self._tables.profiles
        (flag_column, value), (at_column, at) = flag, stamp
        micros = to_micros(at)
        stmt = self._insert(
            table,
            {
                "profile_id": profile_id,
                "channel": channel.value,
                flag_column: value,
                at_column: micros,
            },
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["profile_id", "channel"],
            set_={flag_column: value, at_column: micros},
            where=_newer(table.c[at_column], sa.literal(micros)),
        )
        with self._begin() as conn:
            conn.execute(stmt)

    def apply_membership(self, change: MembershipChange) -> None:
        """Store a membership change; ``list_id=None`` applies it to every list of the profile.

        A change to every list is also kept under :data:`ALL_LISTS`, so that a list change
        that happened earlier but arrives later does not undo it (see :meth:`list_members`).
        """
        table = self._tables.members
        micros = to_micros(change.at)
        list_id = ALL_LISTS if change.list_id is None else change.list_id
        upsert = self._insert(
            table,
            {
                "list_id": list_id,
                "profile_id": change.profile_id,
                "channel": change.channel.value,
                "subscribed": change.subscribed,
                "changed_at": micros,
            },
        ).on_conflict_do_update(
            index_elements=["list_id", "profile_id", "channel"],
            set_={"subscribed": change.subscribed, "changed_at": micros},
            where=table.c.changed_at <= micros,
        )
        with self._begin() as conn:
            if change.list_id is None:
                conn.execute(
                    sa.update(table)
                    .where(table.c.profile_id == change.profile_id)
                    .where(table.c.channel == change.channel.value)
                    .where(table.c.changed_at <= micros)
                    .values(subscribed=change.subscribed, changed_at=micros)
                )
            conn.execute(upsert)

    def record_engagement(self, engagement: Engagement) -> None:
        """Count one engagement event and keep its first and last times."""
        table = self._tables.engagement
        micros = to_micros(engagement.at)
        stmt = self._insert(
            table,
            {
                "profile_id": engagement.profile_id,
                "channel": engagement.channel.value,
                "kind": engagement.kind.value,
                "count": 1,
                "first_at": micros,
                "last_at": micros,
            },
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["profile_id", "channel", "kind"],
            set_={
                "count": table.c.count + 1,
                "first_at": sa.case((table.c.first_at > micros, micros), else_=table.c.first_at),
                "last_at": sa.case((table.c.last_at < micros, micros), else_=table.c.last_at),
            },
        )
        with self._begin() as conn:
            conn.execute(stmt)

    def get_channel_state(self, profile_id: str, channel: Channel) -> ChannelState | None:
        """Return a profile's local consent and suppression on ``channel``, if any was seen."""
        table = self._tables.profiles
        query = sa.select(table).where(
            table.c.profile_id == profile_id, table.c.channel == channel.value
        )
        with self._begin() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return ChannelState(
            subscribed=row["subscribed"],
            consent_at=None if row["consent_at"] is None else from_micros(row["consent_at"]),
            suppressed=row["suppressed"],
            suppressed_at=None
            if row["suppressed_at"] is None
            else from_micros(row["suppressed_at"]),
        )

    def list_members(self, list_id: str, channel: Channel = Channel.EMAIL) -> frozenset[str]:
        """Return the ids of the profiles currently subscribed to ``list_id`` on ``channel``."""
        table = self._tables.members
        every = table.alias("every_list")
        query = (
            sa.select(table.c.profile_id)
            .outerjoin(
                every,
                sa.and_(
                    every.c.list_id == ALL_LISTS,
                    every.c.profile_id == table.c.profile_id,
                    every.c.channel == table.c.channel,
                ),
            )
            .where(table.c.list_id == list_id, table.c.channel == channel.value)
            .where(table.c.subscribed)
            # An unsubscribe from every list at or after this list's change overrides it.
            .where(
                sa.or_(every.c.subscribed.is_not(False), every.c.changed_at < table.c.changed_at)
            )
        )
        with self._begin() as conn:
            return frozenset(conn.execute(query).scalars())

    def iter_engagement(self, channel: Channel = Channel.EMAIL) -> Iterator[EngagementSummary]:
        """Yield every profile's engagement on ``channel``, ordered by profile id."""
        table = self._tables.engagement
        query = (
            sa.select(table)
            .where(table.c.channel == channel.value)
            .order_by(table.c.profile_id, table.c.kind)
        )
        with self._begin() as conn:
            rows = list(conn.execute(query).mappings())
        for profile_id, group in itertools.groupby(rows, key=lambda row: row["profile_id"]):
            yield _summary(profile_id, channel, group)

    def get_engagement(
        self, profile_id: str, channel: Channel = Channel.EMAIL
    ) -> EngagementSummary:
        """Return one profile's engagement on ``channel`` (empty counts when none was seen)."""
        table = self._tables.engagement
        query = sa.select(table).where(
            table.c.profile_id == profile_id, table.c.channel == channel.value
        )
        with self._begin() as conn:
            rows = list(conn.execute(query).mappings())
        return _summary(profile_id, channel, rows)


def _summary(profile_id: str, channel: Channel, rows: Iterable[sa.RowMapping]) -> EngagementSummary:
    counts: dict[EngagementKind, int] = {}
    last: dict[EngagementKind, datetime] = {}
    for row in rows:
        kind = EngagementKind(row["kind"])
        counts[kind] = int(row["count"])
        last[kind] = from_micros(row["last_at"])
    return EngagementSummary(profile_id, channel, counts, last)
