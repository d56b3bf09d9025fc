"""``SQLEngagementSource``: engagement the webhook handlers recorded, read with no API call.

The default webhook handlers (``klaviyo_kit.webhooks.handlers`` with ``SQLWebhookRepository``)
keep one row per profile, channel and kind (``received``, ``opened``, ``clicked``, ...) with the
time it last happened, in ``<prefix>webhook_engagement``. The jobs layer may not import the
webhooks layer, so this module declares the columns it reads on a metadata of its own.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import JobError

try:
    import sqlalchemy as sa
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "sqlalchemy is not installed: pip install 'klaviyo-kit[sql]'"
    raise ImportError(msg, name="sqlalchemy") from exc

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from klaviyo_kit.infra import SQLStateStore

__all__ = ["METRIC_KINDS", "SQLEngagementSource"]

METRIC_KINDS: Final[Mapping[str, tuple[str, str]]] = {
    "Received Email": ("email", "received"),
    "Opened Email": ("email", "opened"),
    "Clicked Email": ("email", "clicked"),
    "Bounced Email": ("email", "bounced"),
    "Marked Email as Spam": ("email", "marked_spam"),
    "Received SMS": ("sms", "received"),
    "Clicked SMS": ("sms", "clicked"),
    "Received Push": ("push", "received"),
    "Opened Push": ("push", "opened"),
    "Bounced Push": ("push", "bounced"),
}
"""Klaviyo metric name → the (channel, kind) row the webhook handlers record it under."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_BATCH: Final = 500  # ids per IN (...) clause, well under every database's parameter limit


def _micros(when: datetime) -> int:
    aware = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _kinds(metrics: Sequence[str]) -> list[tuple[str, str]]:
    unknown = [m for m in metrics if m not in METRIC_KINDS]
    if unknown:
        known = ", ".join(sorted(METRIC_KINDS))
        msg = f"the webhook handlers record no engagement for {unknown}; known metrics: {known}"
        raise ValueError(msg)
    return [METRIC_KINDS[m] for m in metrics]


class SQLEngagementSource:
    """Engagement from the webhook handlers' SQL table (SQLite or PostgreSQL), no API calls.

    Only engagement delivered by webhooks is known: a profile that opened an email before the
    webhooks were set up looks unengaged, so give the webhooks at least the job's ``days`` to
    fill the table before acting on what this source says.

    Args:
        engine: The SQLAlchemy engine of the database the webhook repository writes to.
        table_prefix: The repository's table prefix.

    Example:
        ```python
        source = SQLEngagementSource.from_store(SQLStateStore(url))
        ```
    """

    def __init__(self, engine: sa.Engine, *, table_prefix: str = "klaviyo_kit_") -> None:
        """Declare the engagement table's columns; nothing is read until :meth:`engaged`."""
        self.engine = engine
        self._table = sa.Table(
            f"{table_prefix}webhook_engagement",
            sa.MetaData(),
            sa.Column("profile_id", sa.String(64), primary_key=True),
            sa.Column("channel", sa.String(8), primary_key=True),
            sa.Column("kind", sa.String(16), primary_key=True),
            sa.Column("last_at", sa.BigInteger, nullable=False),
        )
        self._checked = False

    @classmethod
    def from_store(
        cls, store: SQLStateStore, *, table_prefix: str = "klaviyo_kit_"
    ) -> SQLEngagementSource:
        """Read the table from the state store's database (where the repository keeps it)."""
        return cls(store.engine, table_prefix=table_prefix)

    def _check_table(self) -> None:
        if not self._checked:
            if not sa.inspect(self.engine).has_table(self._table.name):
                msg = (
                    f"no engagement recorded: table {self._table.name} does not exist; register "
                    "the webhook handlers with SQLWebhookRepository before running the cleanup"
                )
                raise JobError(msg)
            self._checked = True

    def engaged(
        self, profile_ids: Collection[str], *, metrics: Sequence[str], since: datetime
    ) -> frozenset[str]:
        """Return the ids among ``profile_ids`` with an engagement of ``metrics`` since ``since``.

        Raises:
            ValueError: If a metric is one the webhook handlers do not record.
            klaviyo_kit.errors.JobError: If the engagement table does not exist.
        """
        kinds = _kinds(metrics)
        ids = sorted(set(profile_ids))
        if not ids or not kinds:
            return frozenset()
        self._check_table()
        table = self._table
        which = sa.or_(*(sa.and_(table.c.channel == c, table.c.kind == k) for c, k in kinds))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _BATCH):
                query = (
                    sa.select(table.c.profile_id)
                    .distinct()
                    .where(table.c.profile_id.in_(ids[start : start + _BATCH]))
                    .where(which)
                    .where(table.c.last_at >= _micros(since))
                )
                found.update(conn.execute(query).scalars())
        return frozenset(found)
