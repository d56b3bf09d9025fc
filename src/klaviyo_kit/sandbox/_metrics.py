"""Metrics: created on an event's first use; list (filter by integration) and get."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._filters import matches, parse_filter
from klaviyo_kit.sandbox._jsonapi import Reply, collection, links_self, not_found
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call, World

_INTEGRATIONS: Mapping[str, dict[str, str]] = {
    "api": {
        "object": "integration",
        "id": "7FtS4J",
        "key": "api",
        "name": "API",
        "category": "API",
    },
    "klaviyo": {
        "object": "integration",
        "id": "0rG4eQ",
        "key": "klaviyo",
        "name": "Klaviyo",
        "category": "Internal",
    },
}
_FILTERS = {
    "integration.name": frozenset({"equals"}),
    "integration.category": frozenset({"equals"}),
}


def metric_named(world: World, name: str, integration: str = "api") -> Record:
    """Return the metric called ``name``, creating it on first use."""
    for record in world.account.metrics.values():
        if record.attributes["name"] == name:
            return record
    now = world.clock()
    record = Record(
        world.ids.short(), {"name": name, "integration": dict(_INTEGRATIONS[integration])}, now, now
    )
    world.account.metrics[record.id] = record
    return record


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a metric resource object."""
    path = f"/api/metrics/{record.id}"
    return {
        "type": "metric",
        "id": record.id,
        "attributes": {
            "name": record.attributes["name"],
            "created": iso(record.created),
            "updated": iso(record.updated),
            "integration": record.attributes["integration"],
        },
        "links": links_self(call.base, path),
    }


def _field(record: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        integration: dict[str, str] = record.attributes["integration"]
        return integration[name.split(".")[1]]

    return get


def get_metrics(call: Call) -> Reply:
    """GET /api/metrics."""
    conditions = parse_filter(call.query.get("filter", ""), _FILTERS)
    records = [r for r in call.account.metrics.values() if matches(conditions, _field(r))]
    return collection(
        records,
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
        default_size=200,
        max_size=200,
    )


def get_metric(call: Call) -> Reply:
    """GET /api/metrics/{id}."""
    record = call.account.metrics.get(call.params["id"])
    if record is None:
        raise not_found("metric", call.params["id"])
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_metrics": get_metrics,
    "get_metric": get_metric,
}
