"""Metrics: iterate, get, look up an id by name (cached), and aggregate queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.sdk.types import Document, Metric
from klaviyo_kit.services._aggregates import (
    Interval,
    Measurement,
    MetricAggregate,
    aggregate_body,
    parse_aggregate,
)
from klaviyo_kit.services._base import Page
from klaviyo_kit.services._cached import AsyncCachedService, CachedService
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._ids import require_id
from klaviyo_kit.services._validate import check_name

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator
    from datetime import date, datetime

    from klaviyo_kit.infra import JSONValue

__all__ = ["AsyncMetrics", "Metrics"]


class _MetricsLogic:
    """The metrics service's logic, as flows shared by the sync and async services."""

    def _get_flow(self, metric_id: str) -> Flow[Metric]:
        result = yield Call("metrics", "get_metric", (require_id(metric_id, "metric_id"),))
        return Document.parse(result).resource(Metric)

    def _page_flow(self, filter_: str | None, cursor: str | None) -> Flow[Page[Metric]]:
        kwargs: dict[str, object] = {}
        if filter_:
            kwargs["filter"] = filter_
        if cursor:
            kwargs["page_cursor"] = cursor
        result = yield Call("metrics", "get_metrics", (), kwargs)
        doc = Document.parse(result)
        return Page(doc.resources(Metric), doc.next_cursor)

    def _id_flow(self, name: str) -> Flow[JSONValue | None]:
        cursor: str | None = None
        while True:
            page = yield from self._page_flow(None, cursor)
            for metric in page.items:
                if metric.name == name:
                    return metric.id
            if not page.next_cursor:
                return None
            cursor = page.next_cursor

    def _aggregate_flow(
        self,
        metric_id: str,
        *,
        start: datetime,
        end: datetime,
        measurements: Iterable[Measurement],
        interval: Interval,
        by: Iterable[str],
        timezone: str,
    ) -> Flow[MetricAggregate]:
        body = aggregate_body(
            metric_id,
            start=start,
            end=end,
            measurements=measurements,
            interval=interval,
            by=by,
            timezone_name=timezone,
        )
        result = yield Call("metrics", "query_metric_aggregates", (body,))
        return parse_aggregate(metric_id.strip(), interval, Document.parse(result).data)


def _id_key(name: str) -> tuple[str, str]:
    clean = check_name(name, "name")
    return f"metric-id:{clean}", clean


class Metrics(_MetricsLogic, CachedService):
    """``client.metrics``: metrics, their ids by name, and aggregate counts and sums."""

    def iter(self, *, filter: str | None = None) -> Iterator[Metric]:  # noqa: A002
        """Yield every metric, e.g. ``filter=equals("integration.name", "Shopify")``."""
        return self._iterate(lambda cursor: self._page_flow(filter, cursor))

    def get(self, metric_id: str) -> Metric:
        """Return the metric with this id.

        Raises:
            klaviyo_kit.errors.NotFoundError: If there is none.
        """
        return self._run(self._get_flow(metric_id))

    def get_id(self, name: str) -> str | None:
        """Return the id of the metric called ``name`` (``None`` if none); cached.

        Klaviyo cannot filter metrics by name, so a miss reads the metric pages until found.
        """
        key, clean = _id_key(name)
        found = self._cached(key, lambda: self._id_flow(clean))
        return None if found is None else str(found)

    def aggregate(
        self,
        metric_id: str,
        *,
        start: datetime,
        end: datetime,
        measurements: Iterable[Measurement] = ("count",),
        interval: Interval = "day",
        by: Iterable[str] = (),
        timezone: str = "UTC",
    ) -> MetricAggregate:
        """Aggregate a metric's events in ``[start, end)`` per ``interval``.

        Args:
            metric_id: The metric (see :meth:`get_id`).
            start: First instant included (naive means UTC).
            end: First instant excluded.
            measurements: ``count``, ``sum_value`` and/or ``unique``.
            interval: ``hour``, ``day``, ``week`` or ``month``.
            by: Dimensions to group by (e.g. ``$message``).
            timezone: The IANA zone whose days and hours the buckets follow.

        Returns:
            The bucket dates and one row per group.

        Raises:
            InvalidInputError: Before any request, for an empty range or unknown option.
        """
        flow = self._aggregate_flow(
            metric_id,
            start=start,
            end=end,
            measurements=measurements,
            interval=interval,
            by=by,
            timezone=timezone,
        )
        return self._run(flow)

    def counts_by_day(self, metric_id: str, *, start: datetime, end: datetime) -> dict[date, float]:
        """Return how many events the metric counted each day (UTC) in ``[start, end)``."""
        return self.aggregate(metric_id, start=start, end=end).by_day("count")

    def sums_by_day(self, metric_id: str, *, start: datetime, end: datetime) -> dict[date, float]:
        """Return the sum of the events' ``$value`` each day (UTC) in ``[start, end)``."""
        result = self.aggregate(metric_id, start=start, end=end, measurements=("sum_value",))
        return result.by_day("sum_value")


class AsyncMetrics(_MetricsLogic, AsyncCachedService):
    """The async twin of :class:`Metrics` (same methods, awaited)."""

    def iter(self, *, filter: str | None = None) -> AsyncIterator[Metric]:  # noqa: A002
        """Yield every metric; see :meth:`Metrics.iter`."""
        return self._iterate(lambda cursor: self._page_flow(filter, cursor))

    async def get(self, metric_id: str) -> Metric:
        """Return the metric with this id; see :meth:`Metrics.get`."""
        return await self._run(self._get_flow(metric_id))

    async def get_id(self, name: str) -> str | None:
        """Return the id of the metric called ``name`` (cached); see :meth:`Metrics.get_id`."""
        key, clean = _id_key(name)
        found = await self._cached(key, lambda: self._id_flow(clean))
        return None if found is None else str(found)

    async def aggregate(
        self,
        metric_id: str,
        *,
        start: datetime,
        end: datetime,
        measurements: Iterable[Measurement] = ("count",),
        interval: Interval = "day",
        by: Iterable[str] = (),
        timezone: str = "UTC",
    ) -> MetricAggregate:
        """Aggregate a metric's events; see :meth:`Metrics.aggregate`."""
        flow = self._aggregate_flow(
            metric_id,
            start=start,
            end=end,
            measurements=measurements,
            interval=interval,
            by=by,
            timezone=timezone,
        )
        return await self._run(flow)

    async def counts_by_day(
        self, metric_id: str, *, start: datetime, end: datetime
    ) -> dict[date, float]:
        """Return daily event counts; see :meth:`Metrics.counts_by_day`."""
        return (await self.aggregate(metric_id, start=start, end=end)).by_day("count")

    async def sums_by_day(
        self, metric_id: str, *, start: datetime, end: datetime
    ) -> dict[date, float]:
        """Return daily sums of ``$value``; see :meth:`Metrics.sums_by_day`."""
        result = await self.aggregate(metric_id, start=start, end=end, measurements=("sum_value",))
        return result.by_day("sum_value")
