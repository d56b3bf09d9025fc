"""Segments: list, get and members (defined through :meth:`Sandbox.add_segment`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _members
from klaviyo_kit.sandbox._filters import select
from klaviyo_kit.sandbox._jsonapi import Reply, collection, links_self, not_found, relationship
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._state import Account

_FILTERS = {  # as the SDK documents get_segments' filter
    "name": frozenset({"equals", "any"}),
    "id": frozenset({"equals", "any"}),
    "created": frozenset({"greater-than"}),
    "updated": frozenset({"greater-than"}),
    "is_active": frozenset({"equals", "any"}),
    "is_starred": frozenset({"equals"}),
}
_MEMBER_FILTERS = {**_members.MEMBER_FILTERS, "profile_id": frozenset({"equals", "any"})}


def members_of(
    account: Account, record: Record, seen: frozenset[str] = frozenset()
) -> dict[str, float]:
    """Return ``{profile id: joined}`` for a segment.

    Members are its fixed members, the profiles its ``where`` rule accepts, and, for a segment
    created through the API, the profiles its definition accepts: condition groups must all
    hold, any condition of a group may; only ``profile-group-membership`` conditions (member
    of one of ``group_ids``, or of none when ``is_member`` is false) are evaluated, others
    accept no one.
    """
    joined = dict(account.segment_members.get(record.id, {}))
    rule: Callable[[Mapping[str, Any]], bool] | None = record.extra.get("rule")
    groups = (record.attributes.get("definition") or {}).get("condition_groups") or []
    if rule is None and not groups:
        return joined
    memberships = [
        [_group_members(account, c, seen | {record.id}) for c in g["conditions"]] for g in groups
    ]
    for profile in account.profiles.values():
        accepted = rule(profile.attributes) if rule is not None else True
        accepted = accepted and all(
            any(test(profile.id) for test in group) for group in memberships
        )
        if profile.id not in joined and accepted:
            joined[profile.id] = profile.created
    return joined


def _group_members(
    account: Account, condition: Mapping[str, Any], seen: frozenset[str]
) -> Callable[[str], bool]:
    if condition.get("type") != "profile-group-membership":
        return lambda _profile_id: False
    inside: set[str] = set()
    for group_id in condition.get("group_ids") or []:
        if group_id in account.lists:
            inside.update(account.list_members.get(group_id, {}))
        elif group_id in account.segments and group_id not in seen:
            inside.update(members_of(account, account.segments[group_id], seen))
    if condition.get("is_member", True):
        return inside.__contains__
    return lambda profile_id: profile_id not in inside


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a segment resource object."""
    path = f"/api/segments/{record.id}"
    attributes: dict[str, Any] = {
        "name": record.attributes["name"],
        "definition": record.attributes.get("definition"),
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
        if name in {"created", "updated"}:
            return getattr(record, name)
        return record.attributes.get(name, False)

    return get


def get_segments(call: Call) -> Reply:
    """GET /api/segments."""
    records = select(
        call.account.segments.values(),
        call.query,
        _field,
        filters=_FILTERS,
        time_fields=frozenset({"created", "updated"}),
        sorts=frozenset({"created", "id", "name", "updated"}),
    )
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
    joined = members_of(call.account, find(call))
    return _members.member_collection(call, joined, ids_only=False, filters=_MEMBER_FILTERS)


def get_profile_ids_for_segment(call: Call) -> Reply:
    """GET /api/segments/{id}/relationships/profiles."""
    joined = members_of(call.account, find(call))
    return _members.member_collection(call, joined, ids_only=True, filters=_MEMBER_FILTERS)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_segments": get_segments,
    "get_segment": get_segment,
    "get_profiles_for_segment": get_profiles_for_segment,
    "get_profile_ids_for_segment": get_profile_ids_for_segment,
}
