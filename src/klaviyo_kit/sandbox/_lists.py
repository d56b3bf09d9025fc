"""Lists: CRUD, add/remove profile relationships, members, and a profile's lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _profiles
from klaviyo_kit.sandbox._context import optional_str, require_str
from klaviyo_kit.sandbox._filters import select
from klaviyo_kit.sandbox._jsonapi import (
    Reply,
    SandboxAPIError,
    collection,
    invalid,
    links_self,
    not_found,
    relationship,
)
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call

_POINTER = "/data/attributes"
_OPT_IN = frozenset({"double_opt_in", "single_opt_in"})
_FILTERS = {
    "name": frozenset({"equals", "any"}),
    "id": frozenset({"equals", "any"}),
    "created": frozenset({"greater-than"}),
    "updated": frozenset({"greater-than"}),
}
_SORTS = frozenset({"created", "id", "name", "updated"})
MAX_RELATIONSHIP_IDS = 1000


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a list resource object."""
    path = f"/api/lists/{record.id}"
    attributes: dict[str, Any] = {
        "name": record.attributes["name"],
        "created": iso(record.created),
        "updated": iso(record.updated),
        "opt_in_process": record.attributes.get("opt_in_process", "single_opt_in"),
    }
    if "profile_count" in call.query.get("additional-fields[list]", ""):
        attributes["profile_count"] = len(call.account.list_members.get(record.id, {}))
    return {
        "type": "list",
        "id": record.id,
        "attributes": attributes,
        "relationships": {
            name: relationship(call.base, path, name, None) for name in ("profiles", "tags")
        },
        "links": links_self(call.base, path),
    }


def _list_field(record: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        if name in {"created", "updated"}:
            return getattr(record, name)
        if name == "id":
            return record.id
        return record.attributes.get(name)

    return get


def find(call: Call) -> Record:
    """Return the list named by the ``id`` path parameter or raise a 404."""
    record = call.account.lists.get(call.params["id"])
    if record is None:
        raise not_found("list", call.params["id"])
    return record


def _attrs(call: Call, *, create: bool) -> dict[str, Any]:
    raw = call.attributes("list")
    attrs: dict[str, Any] = {}
    if create or "name" in raw:
        attrs["name"] = require_str(raw, "name", _POINTER)
    opt_in = optional_str(raw, "opt_in_process", _POINTER)
    if opt_in is not None:
        if opt_in not in _OPT_IN:
            raise invalid(
                f"'{opt_in}' is not a valid choice for 'opt_in_process'.",
                pointer=f"{_POINTER}/opt_in_process",
            )
        attrs["opt_in_process"] = opt_in
    return attrs


def _single(call: Call, record: Record, status: int = 200) -> Reply:
    return Reply(status, {"data": render(call, record), "links": links_self(call.base, call.path)})


def get_lists(call: Call) -> Reply:
    """GET /api/lists."""
    records = select(
        call.account.lists.values(),
        call.query,
        _list_field,
        filters=_FILTERS,
        time_fields=frozenset({"created", "updated"}),
        sorts=_SORTS,
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


def get_list(call: Call) -> Reply:
    """GET /api/lists/{id}."""
    return _single(call, find(call))


def create_list(call: Call) -> Reply:
    """POST /api/lists."""
    attrs = _attrs(call, create=True)
    now = call.now
    record = Record(call.world.ids.short(), attrs, now, now)
    call.account.lists[record.id] = record
    call.account.list_members[record.id] = {}
    return _single(call, record, 201)


def update_list(call: Call) -> Reply:
    """PATCH /api/lists/{id}."""
    record = find(call)
    if call.data("list").get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the path.",
            pointer="/data/id",
        )
    record.attributes.update(_attrs(call, create=False))
    record.updated = call.now
    return _single(call, record)


def delete_list(call: Call) -> Reply:
    """DELETE /api/lists/{id}: 204."""
    record = find(call)
    del call.account.lists[record.id]
    call.account.list_members.pop(record.id, None)
    return Reply(204)


def _member_ids(call: Call) -> list[str]:
    ids = call.relationship_ids("profile")
    if len(ids) > MAX_RELATIONSHIP_IDS:
        raise invalid("A maximum of 1000 profiles can be given per call.", pointer="/data")
    for index, profile_id in enumerate(ids):
        if profile_id not in call.account.profiles:
            raise invalid(f"Profile {profile_id} does not exist.", pointer=f"/data/{index}/id")
    return ids


def add_profiles_to_list(call: Call) -> Reply:
    """POST /api/lists/{id}/relationships/profiles: 204."""
    record = find(call)
    members = call.account.list_members.setdefault(record.id, {})
    for profile_id in _member_ids(call):
        members.setdefault(profile_id, call.now)
    return Reply(204)


def remove_profiles_from_list(call: Call) -> Reply:
    """DELETE /api/lists/{id}/relationships/profiles: 204."""
    record = find(call)
    members = call.account.list_members.setdefault(record.id, {})
    for profile_id in _member_ids(call):
        members.pop(profile_id, None)
    return Reply(204)


def _profile_lists(call: Call) -> list[Record]:
    profile = _profiles.find(call)
    return [
        call.account.lists[list_id]
        for list_id, joined in call.account.list_members.items()
        if profile.id in joined and list_id in call.account.lists
    ]


def get_lists_for_profile(call: Call) -> Reply:
    """GET /api/profiles/{id}/lists."""
    return collection(
        _profile_lists(call),
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def get_list_ids_for_profile(call: Call) -> Reply:
    """GET /api/profiles/{id}/relationships/lists."""
    return collection(
        _profile_lists(call),
        lambda r: {"type": "list", "id": r.id},
        base=call.base,
        path=call.path,
        query=call.query,
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_lists": get_lists,
    "get_list": get_list,
    "create_list": create_list,
    "update_list": update_list,
    "delete_list": delete_list,
    "add_profiles_to_list": add_profiles_to_list,
    "remove_profiles_from_list": remove_profiles_from_list,
    "get_lists_for_profile": get_lists_for_profile,
    "get_list_ids_for_profile": get_list_ids_for_profile,
}
