"""Segments: list, get and members (defined through :meth:`Sandbox.add_segment`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _lists
from klaviyo_kit.sandbox._filters import matches, parse_filter
from klaviyo_kit.sandbox._jsonapi import Reply, collection, links_self, not_found, relationship
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._state import Account

_FILTERS = {
    "name": frozenset({"equals", "any"}),
    "id": frozenset({"equals", "any"}),
    "is_active": frozenset({"equals"}),
    "is_starred": frozenset({"equals"}),
}


def members_of(account: Account, record: Record) -> dict[str, float]:
    """Return ``{profile id: joined}`` for a segment: its fixed members plus its rule's matches."""
    joined = dict(account.segment_members.get(record.id, {}))
    rule: Callable[[Mapping[str, Any]], bool] | None = record.extra.get("rule")
    if rule is not None:
        for profile in account.profiles.values():
            if profile.id not in joined and rule(profile.attributes):
                joined[profile.id] = profile.created
    return joined


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a segment resource object."""
    path = f"/api/segments/{record.id}"
    attributes: dict[str, Any] = {
        "name": record.attributes["name"],
        "definition": None,
        "created": iso(record.created),
        "updated": iso(record.updated),
        "is_active": True,
        "is_processing": False,
        "is_starred": record.attributes.get("is_starred", False),
    }
    if "profile_count" in call.query.get("additional-fields[segment]", ""):
        attributes["profile_count"] = len(members_of(call.account, record))
    return {
        "type": "segment",
        "id": record.id,
        "attributes": attributes,
        "relationships": {
            name: relationship(call.base, path, name, None) for name in ("profiles", "tags")
        },
        "links": links_self(call.base, path),
    }


def find(call: Call) -> Record:
    """Return the segment named by the ``id`` path parameter or raise a 404."""
    record = call.account.segments.get(call.params["id"])
    if record is None:
        raise not_found("segment", call.params["id"])
    return record


def _field(record: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        if name == "id":
            return record.id
        if name == "is_active":
            return True
        return record.attributes.get(name, False)

    return get


def get_segments(call: Call) -> Reply:
    """GET /api/segments."""
    conditions = parse_filter(call.query.get("filter", ""), _FILTERS)
    records = [r for r in call.account.segments.values() if matches(conditions, _field(r))]
    return collection(
        records,
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
        default_size=10,
        max_size=10,
    )


def get_segment(call: Call) -> Reply:
    """GET /api/segments/{id}."""
    document = {"data": render(call, find(call)), "links": links_self(call.base, call.path)}
    return Reply(200, document)


def get_profiles_for_segment(call: Call) -> Reply:
    """GET /api/segments/{id}/profiles."""
    return _lists.member_collection(call, members_of(call.account, find(call)), ids_only=False)


def get_profile_ids_for_segment(call: Call) -> Reply:
    """GET /api/segments/{id}/relationships/profiles."""
    return _lists.member_collection(call, members_of(call.account, find(call)), ids_only=True)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_segments": get_segments,
    "get_segment": get_segment,
    "get_profiles_for_segment": get_profiles_for_segment,
    "get_profile_ids_for_segment": get_profile_ids_for_segment,
}
