"""Profiles: get, list (filter, sort, cursor), create (409 on duplicates), update, upsert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._context import as_array, dig, optional_str
from klaviyo_kit.sandbox._jsonapi import (
    Reply,
    SandboxAPIError,
    invalid,
    links_self,
    not_found,
    relationship,
)
from klaviyo_kit.sandbox._state import IDENTIFIERS, Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call, World
    from klaviyo_kit.sandbox._state import Account

_POINTER = "/data/attributes"
_UNSET = "/data/meta/patch_properties/unset"
_TEXT_FIELDS = (
    *IDENTIFIERS,
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
)
_LOCATION_FIELDS = (
    "address1",
    "address2",
    "city",
    "country",
    "latitude",
    "longitude",
    "region",
    "zip",
    "timezone",
    "ip",
)


def subscriptions(record: Record) -> dict[str, Any]:
    """Return the profile's consent state in Klaviyo's ``subscriptions`` shape."""
    state: dict[str, Any] = record.extra.setdefault("subscriptions", {})
    email = state.get("email", "NEVER_SUBSCRIBED")
    sms = state.get("sms", "NEVER_SUBSCRIBED")
    suppressed = record.extra.get("suppressed", False)
    return {
        "email": {
            "marketing": {
                "can_receive_email_marketing": email == "SUBSCRIBED" and not suppressed,
                "consent": email,
                "suppression": (
                    [{"reason": "USER_SUPPRESSED", "timestamp": iso(record.extra["suppressed_at"])}]
                    if suppressed
                    else []
                ),
                "list_suppressions": [],
            }
        },
        "sms": {
            "marketing": {"can_receive_sms_marketing": sms == "SUBSCRIBED", "consent": sms},
        },
    }


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a profile resource object."""
    attrs = record.attributes
    path = f"/api/profiles/{record.id}"
    attributes: dict[str, Any] = {name: attrs.get(name) for name in _TEXT_FIELDS}
    attributes.update(
        created=iso(record.created),
        updated=iso(record.updated),
        last_event_date=(iso(record.extra["last_event"]) if "last_event" in record.extra else None),
        location={name: attrs.get("location", {}).get(name) for name in _LOCATION_FIELDS},
        properties=dict(attrs.get("properties", {})),
    )
    if "subscriptions" in call.query.get("additional-fields[profile]", ""):
        attributes["subscriptions"] = subscriptions(record)
    return {
        "type": "profile",
        "id": record.id,
        "attributes": attributes,
        "relationships": {
            name: relationship(call.base, path, name, None) for name in ("lists", "segments")
        },
        "links": links_self(call.base, path),
    }


def clean(attrs: Mapping[str, Any], pointer: str = _POINTER) -> dict[str, Any]:
    """Check profile attributes (400 pointing under ``pointer``) and keep the known ones."""
    cleaned: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        if name in attrs:
            cleaned[name] = optional_str(attrs, name, pointer)
    email = cleaned.get("email")
    if email is not None and ("@" not in email or email.startswith("@") or " " in email):
        raise invalid(f"Invalid email address: {email}", pointer=f"{pointer}/email")
    phone = cleaned.get("phone_number")
    if phone is not None and not (phone.startswith("+") and phone[1:].isdigit()):
        raise invalid(
            f"Invalid phone number format (Example of a valid format: +12345678901): {phone}",
            pointer=f"{pointer}/phone_number",
        )
    for name in ("location", "properties"):
        if name in attrs and attrs[name] is not None:
            if not isinstance(attrs[name], dict):
                raise invalid(f"'{name}' must be an object.", pointer=f"{pointer}/{name}")
            cleaned[name] = dict(attrs[name])
    return cleaned


def _duplicate(account: Account, attrs: Mapping[str, Any], own_id: str | None) -> None:
    for name in IDENTIFIERS:
        found = account.find_profile(name, attrs.get(name))
        if found is not None and found.id != own_id:
            raise SandboxAPIError(
                409,
                "duplicate_profile",
                "Conflict.",
                "A profile already exists with one of these identifiers.",
                pointer=_POINTER,
                meta={"duplicate_profile_id": found.id},
            )


def _apply(account: Account, record: Record, attrs: Mapping[str, Any], now: float) -> None:
    changes: dict[str, Any] = {}
    for name, value in attrs.items():
        if name in {"location", "properties"}:
            merged = dict(record.attributes.get(name, {}))
            merged.update(value)
            changes[name] = merged
        else:
            changes[name] = value
    account.store_profile(record, changes)
    record.updated = now


def new_profile(world: World, attrs: Mapping[str, Any]) -> Record:
    """Store a new profile from cleaned attributes (no duplicate check)."""
    now = world.clock()
    record = Record(world.ids.ulid(now), {}, now, now)
    _apply(world.account, record, attrs, now)
    return record


def upsert(
    world: World, raw: Mapping[str, Any], profile_id: str | None = None
) -> tuple[Record, bool]:
    """Create or update a profile keyed by id, email, phone or external id.

    Raises:
        SandboxAPIError: 400 for invalid attributes, 409 when identifiers name two profiles.

    Returns:
        The record and whether it was created.
    """
    attrs = clean(raw)
    account = world.account
    record = account.profiles.get(profile_id) if profile_id else None
    for name in IDENTIFIERS:
        record = record or account.find_profile(name, attrs.get(name))
    if record is None:
        if not any(attrs.get(name) for name in IDENTIFIERS):
            raise invalid(
                "One of 'email', 'phone_number' or 'external_id' is required.",
                pointer=_POINTER,
            )
        return new_profile(world, attrs), True
    _duplicate(account, attrs, record.id)
    _apply(account, record, attrs, world.clock())
    return record, False


def find(call: Call) -> Record:
    """Return the profile named by the ``id`` path parameter or raise a 404."""
    record = call.account.profiles.get(call.params["id"])
    if record is None:
        raise not_found("profile", call.params["id"])
    return record


def get_profile(call: Call) -> Reply:
    """GET /api/profiles/{id}."""
    return Reply(200, {"data": render(call, find(call)), "links": links_self(call.base, call.path)})


def create_profile(call: Call) -> Reply:
    """POST /api/profiles: 201, or 409 ``duplicate_profile`` with the existing id."""
    attrs = clean(call.attributes("profile"))
    if not any(attrs.get(name) for name in IDENTIFIERS):
        raise invalid(
            "One of 'email', 'phone_number' or 'external_id' is required.", pointer=_POINTER
        )
    _duplicate(call.account, attrs, None)
    record = new_profile(call.world, attrs)
    return Reply(201, {"data": render(call, record), "links": links_self(call.base, call.path)})


def update_profile(call: Call) -> Reply:
    """PATCH /api/profiles/{id}."""
    record = find(call)
    data = call.data("profile")
    if data.get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the id in the path.",
            pointer="/data/id",
        )
    attrs = clean(call.attributes("profile"))
    _duplicate(call.account, attrs, record.id)
    _apply(call.account, record, attrs, call.now)
    unset = dig(data, "/data", "meta", "patch_properties", "unset")
    names = [unset] if isinstance(unset, str) else as_array(unset, _UNSET)
    properties = dict(record.attributes.get("properties", {}))
    for name in names:
        properties.pop(str(name), None)
    record.attributes["properties"] = properties
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def create_or_update_profile(call: Call) -> Reply:
    """POST /api/profile-import: 201 when created, 200 when updated."""
    data = call.data("profile")
    profile_id = optional_str(data, "id", "/data")
    record, created = upsert(call.world, call.attributes("profile"), profile_id)
    return Reply(
        201 if created else 200,
        {"data": render(call, record), "links": links_self(call.base, call.path)},
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_profile": get_profile,
    "create_profile": create_profile,
    "update_profile": update_profile,
    "create_or_update_profile": create_or_update_profile,
}
