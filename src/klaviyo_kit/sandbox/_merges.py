"""Profile merges and an event's related profile and metric."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _metrics, _profiles
from klaviyo_kit.sandbox._context import as_array, dig
from klaviyo_kit.sandbox._jsonapi import Reply, invalid, links_self, not_found
from klaviyo_kit.sandbox._state import IDENTIFIERS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._state import Record

_SOURCES = "/data/relationships/profiles/data"


def merge_profiles(call: Call) -> Reply:
    """POST /api/profile-merge: fold source profiles into the destination, then delete them.

    The destination keeps its own values; a source fills only what the destination lacks. Events,
    list memberships and consent move to the destination.
    """
    data = call.data("profile-merge")
    account = call.account
    target = account.profiles.get(str(data.get("id")))
    if target is None:
        raise not_found("profile", str(data.get("id")))
    raw = as_array(dig(data, "/data", "relationships", "profiles", "data"), _SOURCES)
    sources: list[Record] = []
    for index, item in enumerate(raw):
        source = account.profiles.get(str(dig(item, f"{_SOURCES}/{index}", "id")))
        if source is None or source.id == target.id:
            raise invalid(
                "Each source must be another existing profile.", pointer=f"{_SOURCES}/{index}/id"
            )
        sources.append(source)
    if not sources:
        raise invalid("At least one source profile is required.", pointer=_SOURCES)
    for source in sources:
        _fold(call, source, target)
    return Reply(
        201,
        {
            "data": {
                "type": "profile",
                "id": target.id,
                "links": links_self(call.base, f"/api/profiles/{target.id}"),
            },
            "links": links_self(call.base, call.path),
        },
    )


def _fold(call: Call, source: Record, target: Record) -> None:
    account = call.account
    del account.profiles[source.id]
    for name in IDENTIFIERS:
        if source.attributes.get(name) is not None:
            account.profile_index.pop((name, source.attributes[name]), None)
    missing = {k: v for k, v in source.attributes.items() if target.attributes.get(k) in (None, {})}
    properties = {
        **source.attributes.get("properties", {}),
        **target.attributes.get("properties", {}),
    }
    account.store_profile(target, {**missing, "properties": properties})
    for key, value in source.extra.items():
        target.extra.setdefault(key, value)
    for event in account.events.values():
        if event.extra["profile_id"] == source.id:
            event.extra["profile_id"] = target.id
    for members in account.list_members.values():
        if source.id in members:
            joined = members.pop(source.id)
            members.setdefault(target.id, joined)
    target.updated = call.now


def _event(call: Call) -> Record:
    record = call.account.events.get(call.params["id"])
    if record is None:
        raise not_found("event", call.params["id"])
    return record


def _document(call: Call, data: dict[str, Any] | None) -> Reply:
    return Reply(200, {"data": data, "links": links_self(call.base, call.path)})


def get_metric_for_event(call: Call) -> Reply:
    """GET /api/events/{id}/metric."""
    metric = call.account.metrics[_event(call).extra["metric_id"]]
    return _document(call, _metrics.render(call, metric))


def get_profile_for_event(call: Call) -> Reply:
    """GET /api/events/{id}/profile."""
    profile = call.account.profiles.get(_event(call).extra["profile_id"])
    return _document(call, _profiles.render(call, profile) if profile is not None else None)


def get_metric_id_for_event(call: Call) -> Reply:
    """GET /api/events/{id}/relationships/metric."""
    return _document(call, {"type": "metric", "id": _event(call).extra["metric_id"]})


def get_profile_id_for_event(call: Call) -> Reply:
    """GET /api/events/{id}/relationships/profile."""
    return _document(call, {"type": "profile", "id": _event(call).extra["profile_id"]})


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "merge_profiles": merge_profiles,
    "get_metric_for_event": get_metric_for_event,
    "get_profile_for_event": get_profile_for_event,
    "get_metric_id_for_event": get_metric_id_for_event,
    "get_profile_id_for_event": get_profile_id_for_event,
}
