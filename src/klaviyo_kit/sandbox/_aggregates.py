"""Metric aggregates: counts, sums and unique profiles per time bucket, optionally grouped."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._context import as_array
from klaviyo_kit.sandbox._filters import parse_filter
from klaviyo_kit.sandbox._jsonapi import Reply, invalid, links_self, not_found

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._state import Record

_POINTER = "/data/attributes"
_MEASUREMENTS = frozenset({"count", "sum_value", "unique"})
_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
_BOUNDS = {
    "datetime": frozenset({"greater-or-equal", "greater-than", "less-than", "less-or-equal"})
}
MAX_BUCKETS = 10_000


def _next(moment: datetime, interval: str) -> datetime:
    if interval == "month":
        year, month = divmod(moment.month, 12)
        return moment.replace(year=moment.year + year, month=month + 1)
    return moment + _STEPS[interval]


def _floor(moment: datetime, interval: str) -> datetime:
    start = moment.replace(minute=0, second=0, microsecond=0)
    if interval != "hour":
        start = start.replace(hour=0)
    if interval == "week":
        start -= timedelta(days=start.weekday())
    if interval == "month":
        start = start.replace(day=1)
    return start


def _window(filters: object) -> tuple[float, float]:
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise invalid("'filter' must be a list of conditions.", pointer=f"{_POINTER}/filter")
    conditions = parse_filter(",".join(filters), _BOUNDS, frozenset({"datetime"}))
    starts = [float(str(c.value)) for c in conditions if c.operator.startswith("greater")]
    ends = [float(str(c.value)) for c in conditions if c.operator.startswith("less")]
    if not starts or not ends:
        raise invalid(
            "'filter' must bound 'datetime' from both sides.", pointer=f"{_POINTER}/filter"
        )
    return max(starts), min(ends)


def query_metric_aggregates(call: Call) -> Reply:
    """POST /api/metric-aggregates."""
    attrs = call.attributes("metric-aggregate")
    metric_id = attrs.get("metric_id")
    if not isinstance(metric_id, str):
        raise invalid("'metric_id' is a required field.", pointer=f"{_POINTER}/metric_id")
    if metric_id not in call.account.metrics:
        raise not_found("metric", metric_id)
    measurements = attrs.get("measurements")
    if (
        not isinstance(measurements, list)
        or not measurements
        or not all(isinstance(m, str) and m in _MEASUREMENTS for m in measurements)
    ):
        raise invalid(
            "'measurements' must list count, sum_value or unique.",
            pointer=f"{_POINTER}/measurements",
        )
    interval = attrs.get("interval") or "day"
    if not isinstance(interval, str) or interval not in {*_STEPS, "month"}:
        raise invalid(f"'{interval}' is not a valid interval.", pointer=f"{_POINTER}/interval")
    start, end = _window(attrs.get("filter"))
    buckets = [_floor(datetime.fromtimestamp(start, timezone.utc), interval)]
    while _next(buckets[-1], interval).timestamp() < end and len(buckets) < MAX_BUCKETS:
        buckets.append(_next(buckets[-1], interval))
    edges = [b.timestamp() for b in buckets]
    by = [str(name) for name in as_array(attrs.get("by"), f"{_POINTER}/by")]
    groups: dict[tuple[str, ...], list[list[Record]]] = {}
    for event in call.account.events.values():
        if event.extra["metric_id"] != metric_id or not start <= event.created < end:
            continue
        index = max(i for i, edge in enumerate(edges) if edge <= event.created)
        props = event.attributes["properties"]
        key = tuple(str(props.get(name, "")) for name in by)
        groups.setdefault(key, [[] for _ in edges])[index].append(event)
    if not by and not groups:
        groups[()] = [[] for _ in edges]
    rows = [
        {"dimensions": list(key), "measurements": _measure(measurements, slots)}
        for key, slots in sorted(groups.items())
    ]
    path = call.path
    document: dict[str, Any] = {
        "data": {
            "type": "metric-aggregate",
            "id": call.world.ids.ulid(call.now),
            "attributes": {"dates": [b.isoformat() for b in buckets], "data": rows},
            "links": links_self(call.base, path),
        },
        "links": links_self(call.base, path),
    }
    return Reply(200, document)


def _measure(measurements: list[str], slots: list[list[Record]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name in measurements:
        if name == "count":
            out[name] = [float(len(events)) for events in slots]
        elif name == "sum_value":
            out[name] = [
                float(sum(e.attributes["properties"].get("$value", 0) or 0 for e in events))
                for events in slots
            ]
        else:
            out[name] = [float(len({e.extra["profile_id"] for e in events})) for events in slots]
    return out


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "query_metric_aggregates": query_metric_aggregates,
}
