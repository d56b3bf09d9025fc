"""Where the list cleanup job learns who engaged: the protocol, and Klaviyo's own events.

An :class:`EngagementSource` answers one question for a batch of profiles: which of them had an
event of one of these metrics since this time? :class:`KlaviyoEngagementSource` asks Klaviyo's
events API; ``SQLEngagementSource`` (the ``sql`` extra) reads what the webhook handlers recorded,
with no API call at all. A plain function with the same signature works wherever a source goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeAlias, runtime_checkable

from klaviyo_kit.sdk.types import Document, Event
from klaviyo_kit.services.filters import and_, equals, quote

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Sequence
    from datetime import datetime

    from klaviyo_kit.client import KlaviyoClient

__all__ = [
    "DEFAULT_ENGAGEMENT_METRICS",
    "EngagementFunction",
    "EngagementSource",
    "KlaviyoEngagementSource",
    "ScanStrategy",
]

DEFAULT_ENGAGEMENT_METRICS: Final[tuple[str, ...]] = ("Opened Email", "Clicked Email")
"""The metrics that count as engagement unless the job is told otherwise."""
MAX_EVENT_PAGE: Final = 1000
"""Klaviyo's largest page of events."""

ScanStrategy = Literal["per_profile", "scan"]
"""How :class:`KlaviyoEngagementSource` reads events: one query per profile, or every event."""


@runtime_checkable
class EngagementSource(Protocol):
    """Tells which profiles engaged (had an event of given metrics) since a time."""

    def engaged(
        self, profile_ids: Collection[str], *, metrics: Sequence[str], since: datetime
    ) -> frozenset[str]:
        """Return the ids among ``profile_ids`` with an event of ``metrics`` at or after ``since``.

        Args:
            profile_ids: The profiles to check (one batch; the job calls this page by page).
            metrics: Metric names, e.g. ``("Opened Email", "Clicked Email")``.
            since: The start of the engagement window (timezone-aware).

        Returns:
            The engaged subset of ``profile_ids``.
        """


EngagementFunction: TypeAlias = (
    "Callable[[Collection[str], Sequence[str], datetime], Collection[str]]"
)
"""A plain function ``(profile_ids, metrics, since) -> engaged ids`` usable as a source."""


def _since(since: datetime) -> str:
    # Klaviyo accepts greater-or-equal on event datetimes; services.filters has no builder for it.
    return f"greater-or-equal(datetime,{quote(since)})"


class KlaviyoEngagementSource:
    """Engagement read from Klaviyo's events API (``get_events``, 350/s burst, 3,500/min).

    With ``strategy="per_profile"`` (the default) each profile costs one request per metric,
    stopping at its first event: the cost follows the list's size. With ``strategy="scan"`` every
    event of each metric in the window is read once, 1,000 per page, and kept for the run: the
    cost follows the account's event volume, which is cheaper for large lists in quiet accounts.

    Metric names are resolved to ids with ``client.metrics.get_id`` (cached); a metric the
    account does not have has no events.

    Args:
        client: The Klaviyo client.
        strategy: ``per_profile`` or ``scan``.

    Example:
        ```python
        source = KlaviyoEngagementSource(client, strategy="scan")
        engaged = source.engaged(ids, metrics=("Opened Email",), since=cutoff)
        ```
    """

    def __init__(self, client: KlaviyoClient, *, strategy: ScanStrategy = "per_profile") -> None:
        """Bind the source to ``client``."""
        if strategy not in ("per_profile", "scan"):
            msg = f"strategy must be 'per_profile' or 'scan', not {strategy!r}"
            raise ValueError(msg)
        self._client = client
        self._strategy = strategy
        self._scanned: dict[tuple[str, str], frozenset[str]] = {}
        self._metric_ids: dict[str, str] = {}

    def engaged(
        self, profile_ids: Collection[str], *, metrics: Sequence[str], since: datetime
    ) -> frozenset[str]:
        """Return the ids among ``profile_ids`` with an event of ``metrics`` since ``since``.

        Raises:
            klaviyo_kit.errors.KlaviyoError: If Klaviyo cannot be read.
        """
        metric_ids = [m for m in (self._metric_id(name) for name in metrics) if m]
        if not metric_ids or not profile_ids:
            return frozenset()
        if self._strategy == "scan":
            wanted = set(profile_ids)
            found: set[str] = set()
            for metric_id in metric_ids:
                found |= self._scan(metric_id, since) & wanted
            return frozenset(found)
        return frozenset(p for p in profile_ids if self._has_event(p, metric_ids, since))

    def _metric_id(self, name: str) -> str | None:
        """Resolve a metric name once per source; a missing one is asked again next time."""
        if name not in self._metric_ids:
            found = self._client.metrics.get_id(name)
            if found is None:
                return None
            self._metric_ids[name] = found
        return self._metric_ids[name]

    def _has_event(self, profile_id: str, metric_ids: Sequence[str], since: datetime) -> bool:
        for metric_id in metric_ids:
            condition = and_(
                equals("metric_id", metric_id), equals("profile_id", profile_id), _since(since)
            )
            page = self._client.sdk.events.get_events(filter=condition, page_size=1)
            if Document.parse(page).resources(Event):
                return True
        return False

    def _scan(self, metric_id: str, since: datetime) -> frozenset[str]:
        key = (metric_id, since.isoformat())
        if any(stamp != key[1] for _, stamp in self._scanned):  # a new pass: forget the old one
            self._scanned.clear()
        if key not in self._scanned:
            self._scanned[key] = frozenset(
                event.profile_id for event in self._events(metric_id, since) if event.profile_id
            )
        return self._scanned[key]

    def _events(self, metric_id: str, since: datetime) -> Iterator[Event]:
        condition = and_(equals("metric_id", metric_id), _since(since))
        cursor: str | None = None
        while True:
            page = self._client.sdk.events.get_events(
                filter=condition, page_size=MAX_EVENT_PAGE, page_cursor=cursor
            )
            doc = Document.parse(page)
            yield from doc.resources(Event)
            cursor = doc.next_cursor
            if not cursor:
                return


class _FunctionSource:
    """Adapt a function ``(profile_ids, metrics, since) -> ids`` to :class:`EngagementSource`."""

    def __init__(self, function: EngagementFunction) -> None:
        """Wrap ``function``."""
        self._function = function

    def engaged(
        self, profile_ids: Collection[str], *, metrics: Sequence[str], since: datetime
    ) -> frozenset[str]:
        """Call the function and keep only ids that were asked about."""
        return frozenset(self._function(profile_ids, metrics, since)) & frozenset(profile_ids)
