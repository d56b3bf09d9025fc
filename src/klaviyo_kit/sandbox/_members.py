"""List and segment members: profiles with ``joined_group_at``, filtered and sorted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _profile_list, _profiles
from klaviyo_kit.sandbox._filters import select
from klaviyo_kit.sandbox._jsonapi import Reply, collection
from klaviyo_kit.sandbox._lists import find
from klaviyo_kit.sandbox._state import iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._state import Record

MEMBER_FILTERS = {  # as the SDK documents get_profiles_for_list's filter
    "email": frozenset({"equals", "any"}),
    "phone_number": frozenset({"equals", "any"}),
    "push_token": frozenset({"equals", "any"}),
    "_kx": frozenset({"equals"}),
    "joined_group_at": frozenset(
        {"greater-than", "less-than", "greater-or-equal", "less-or-equal"}
    ),
}


def _member_field(member: tuple[Record, float]) -> Callable[[str], object]:
    profile, joined = member
    getter = _profile_list.profile_field(profile)

    def get(name: str) -> object:
        if name == "joined_group_at":
            return joined
        if name == "profile_id":
            return profile.id
        return getter(name)

    return get


def members(
    call: Call, joined: Mapping[str, float], filters: Mapping[str, frozenset[str]] = MEMBER_FILTERS
) -> list[Record]:
    """Return the member profiles matching the call's ``filter`` and ``sort``.

    The natural order is the order they joined; ``sort`` accepts ``joined_group_at``.
    """
    pairs = [
        (call.account.profiles[profile_id], when)
        for profile_id, when in joined.items()
        if profile_id in call.account.profiles
    ]
    chosen = select(
        pairs,
        call.query,
        _member_field,
        filters=filters,
        time_fields=frozenset({"joined_group_at"}),
        sorts=frozenset({"joined_group_at"}),
    )
    return [profile for profile, _ in chosen]


def member_collection(
    call: Call,
    joined: Mapping[str, float],
    *,
    ids_only: bool,
    filters: Mapping[str, frozenset[str]] = MEMBER_FILTERS,
) -> Reply:
    """Return members as profiles (with ``joined_group_at``) or as resource identifiers."""
    records = members(call, joined, filters)
    if ids_only:
        return collection(
            records,
            lambda r: {"type": "profile", "id": r.id},
            base=call.base,
            path=call.path,
            query=call.query,
        )

    def member(record: Record) -> dict[str, Any]:
        resource = _profiles.render(call, record)
        resource["attributes"]["joined_group_at"] = iso(joined[record.id])
        return resource

    return collection(records, member, base=call.base, path=call.path, query=call.query)


def get_profiles_for_list(call: Call) -> Reply:
    """GET /api/lists/{id}/profiles."""
    return member_collection(call, call.account.list_members[find(call).id], ids_only=False)


def get_profile_ids_for_list(call: Call) -> Reply:
    """GET /api/lists/{id}/relationships/profiles."""
    return member_collection(call, call.account.list_members[find(call).id], ids_only=True)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_profiles_for_list": get_profiles_for_list,
    "get_profile_ids_for_list": get_profile_ids_for_list,
}
