"""Metric aggregate queries: the request Klaviyo expects and the result as our own values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Literal, get_args
from zoneinfo import available_timezones

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services._ids import require_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from klaviyo_kit.sdk.types import JsonDict

__all__ = [
    "AggregateRow",
    "Interval",
    "Measurement",
    "MetricAggregate",
    "aggregate_body",
    "parse_aggregate",
]

Measurement = Literal["count", "sum_value", "unique"]
"""What to aggregate: events, the sum of their ``$value``, or distinct profiles."""
Interval = Literal["hour", "day", "week", "month"]
"""The width of each time bucket."""


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """One group of an aggregate: its dimension values and a series per measurement.

    Attributes:
        dimensions: The values of the ``by`` dimensions (empty without ``by``).
        measurements: Per measurement, one number per bucket of :attr:`MetricAggregate.dates`.
    """

    dimensions: tuple[str, ...]
    measurements: Mapping[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class MetricAggregate:
    """The answer to an aggregate query: bucket start times and one row per group.

    Attributes:
        metric_id: The metric aggregated.
        interval: The bucket width.
        dates: The start of each bucket.
        rows: One row per combination of ``by`` values (one row without ``by``).
    """

    metric_id: str
    interval: Interval
    dates: tuple[datetime, ...]
    rows: tuple[AggregateRow, ...] = field(default=())

    def totals(self, measurement: Measurement = "count") -> dict[datetime, float]:
        """Return the measurement per bucket, summed over all rows (groups)."""
        out = dict.fromkeys(self.dates, 0.0)
        for row in self.rows:
            for when, value in zip(self.dates, row.measurements.get(measurement, ()), strict=False):
                out[when] += value
        return out

    def by_day(self, measurement: Measurement = "count") -> dict[date, float]:
        """Return :meth:`totals` keyed by the buckets' calendar dates."""
        out: dict[date, float] = {}
        for when, value in self.totals(measurement).items():
            out[when.date()] = out.get(when.date(), 0.0) + value
        return out


def _aware(value: object, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInputError(name, f"must be a datetime, got {type(value).__name__}")
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(name: object) -> str:
    """Return an IANA zone name; unchecked where the system has no time zone database."""
    zones = _known_zones()
    if not isinstance(name, str) or (zones and name not in zones) or not name:
        raise InvalidInputError("timezone", f"{name!r} is not an IANA time zone like 'UTC'")
    return name


def aggregate_body(
    metric_id: str,
    *,
    start: datetime,
    end: datetime,
    measurements: Iterable[Measurement],
    interval: Interval,
    by: Iterable[str],
    timezone_name: str,
) -> JsonDict:
    """Return the ``query_metric_aggregates`` body for events in ``[start, end)``.

    Raises:
        InvalidInputError: For an empty metric id, a range that is empty or not datetimes, an
            unknown measurement, interval or time zone.
    """
    target = require_id(metric_id, "metric_id")
    begin, finish = _aware(start, "start"), _aware(end, "end")
    if begin >= finish:
        raise InvalidInputError("end", f"must be after start ({begin.isoformat()})")
    wanted = [measurements] if isinstance(measurements, str) else list(measurements)
    unknown = [m for m in wanted if m not in get_args(Measurement)]
    if unknown or not wanted:
        raise InvalidInputError("measurements", f"must list count, sum_value or unique: {wanted!r}")
    if interval not in get_args(Interval):
        raise InvalidInputError("interval", f"must be hour, day, week or month, not {interval!r}")
    zone = _check_timezone(timezone_name)
    attributes: JsonDict = {
        "metric_id": target,
        "measurements": list(dict.fromkeys(wanted)),
        "interval": interval,
        "filter": [
            f"greater-or-equal(datetime,{begin.isoformat()})",
            f"less-than(datetime,{finish.isoformat()})",
        ],
        "timezone": zone,
    }
    groups = [by] if isinstance(by, str) else list(by)
    if groups:
        attributes["by"] = list(groups)
    return {"data": {"type": "metric-aggregate", "attributes": attributes}}


def _bucket(raw: object) -> datetime:
    """Parse a bucket start, keeping the offset Klaviyo gives (its days are local days)."""
    moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_aggregate(metric_id: str, interval: Interval, data: object) -> MetricAggregate:
    """Build a :class:`MetricAggregate` from the response document's ``data`` object."""
    attrs = data.get("attributes") if isinstance(data, Mapping) else None
    attrs = attrs if isinstance(attrs, Mapping) else {}
    raw_dates = attrs.get("dates")
    dates = tuple(_bucket(d) for d in (raw_dates if isinstance(raw_dates, list) else []))
    rows: list[AggregateRow] = []
    raw_rows = attrs.get("data")
    for raw in raw_rows if isinstance(raw_rows, list) else []:
        if not isinstance(raw, Mapping):
            continue
        dims = raw.get("dimensions")
        series = raw.get("measurements")
        rows.append(
            AggregateRow(
                tuple(str(d) for d in dims) if isinstance(dims, list) else (),
                {
                    str(name): tuple(float(v or 0) for v in values)
                    for name, values in (series.items() if isinstance(series, Mapping) else ())
                    if isinstance(values, list)
                },
            )
        )
    return MetricAggregate(metric_id, interval, dates, tuple(rows))
