"""Segments through the API: create, update and delete (definitions stored, simply evaluated)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._context import as_array, as_object, require_str
from klaviyo_kit.sandbox._jsonapi import Reply, SandboxAPIError, invalid, links_self
from klaviyo_kit.sandbox._segments import find, render
from klaviyo_kit.sandbox._state import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call

_POINTER = "/data/attributes"


def _definition(raw: object, pointer: str) -> dict[str, Any]:
    definition = as_object(raw, pointer)
    groups = as_array(definition.get("condition_groups"), f"{pointer}/condition_groups")
    if not groups:
        raise invalid(
            "At least one condition group is required.", pointer=f"{pointer}/condition_groups"
        )
    for index, group in enumerate(groups):
        at = f"{pointer}/condition_groups/{index}"
        conditions = as_array(as_object(group, at).get("conditions"), f"{at}/conditions")
        if not conditions:
            raise invalid("At least one condition is required.", pointer=f"{at}/conditions")
        for number, condition in enumerate(conditions):
            as_object(condition, f"{at}/conditions/{number}")
    return definition


def create_segment(call: Call) -> Reply:
    """POST /api/segments: 201."""
    raw = call.attributes("segment")
    attrs = {
        "name": require_str(raw, "name", _POINTER),
        "definition": _definition(raw.get("definition"), f"{_POINTER}/definition"),
        "is_starred": bool(raw.get("is_starred", False)),
    }
    now = call.now
    record = Record(call.world.ids.short(), attrs, now, now, {"rule": None})
    call.account.segments[record.id] = record
    call.account.segment_members[record.id] = {}
    return Reply(201, {"data": render(call, record), "links": links_self(call.base, call.path)})


def update_segment(call: Call) -> Reply:
    """PATCH /api/segments/{id}."""
    record = find(call)
    if call.data("segment").get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the path.",
            pointer="/data/id",
        )
    raw = call.attributes("segment")
    if "name" in raw:
        record.attributes["name"] = require_str(raw, "name", _POINTER)
    if raw.get("definition") is not None:
        record.attributes["definition"] = _definition(raw["definition"], f"{_POINTER}/definition")
    if raw.get("is_starred") is not None:
        record.attributes["is_starred"] = bool(raw["is_starred"])
    record.updated = call.now
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def delete_segment(call: Call) -> Reply:
    """DELETE /api/segments/{id}: 204."""
    record = find(call)
    del call.account.segments[record.id]
    call.account.segment_members.pop(record.id, None)
    return Reply(204)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "create_segment": create_segment,
    "update_segment": update_segment,
    "delete_segment": delete_segment,
}
