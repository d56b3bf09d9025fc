"""Campaigns: create with inline audiences and messages; get, list; audiences; templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._context import as_array, as_object, dig
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
    from klaviyo_kit.sandbox._state import Account

_POINTER = "/data/attributes"
_TIMES = frozenset({"greater-or-equal", "greater-than", "less-or-equal", "less-than"})
# As the SDK documents get_campaigns' filter at revision 2026-10-15, plus ``messages.channel``:
# earlier revisions require it, the 2026-10-15 docstring no longer lists it, and whether Klaviyo
# now rejects it is unverified, so it is accepted (and applied), never required.
_FILTERS = {
    "messages.channel": frozenset({"equals"}),
    "id": frozenset({"any"}),
    "name": frozenset({"contains"}),
    "archived": frozenset({"equals"}),
    "builder": frozenset({"equals"}),
    "created_at": _TIMES,
    "updated_at": _TIMES,
}


def ids_of(kind: str, ids: list[str]) -> list[dict[str, str]]:
    return [{"type": kind, "id": i} for i in ids]


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a campaign resource object."""
    path = f"/api/campaigns/{record.id}"
    return {
        "type": "campaign",
        "id": record.id,
        "attributes": {
            "created_at": iso(record.created),
            "updated_at": iso(record.updated),
            "definition": record.attributes["definition"],
        },
        "relationships": {
            "campaign-audiences": relationship(
                call.base,
                path,
                "campaign-audiences",
                ids_of("campaign-audience", record.extra["audiences"]),
            ),
            "campaign-messages": relationship(
                call.base,
                path,
                "campaign-messages",
                ids_of("campaign-message", record.extra["messages"]),
            ),
            "tags": relationship(call.base, path, "tags", []),
        },
        "links": links_self(call.base, path),
    }


def _check_groups(call: Call, ids: object, pointer: str) -> list[str]:
    if ids is None:
        return []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid("Must be a list of list or segment ids.", pointer=pointer)
    for index, group in enumerate(ids):
        if group not in call.account.lists and group not in call.account.segments:
            raise invalid(f"List or segment {group} does not exist.", pointer=f"{pointer}/{index}")
    return list(ids)


def _list_of_objects(raw: object, pointer: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise invalid("Must be a list of objects.", pointer=pointer)
    return raw


def create_campaign(call: Call) -> Reply:
    """POST /api/campaigns: the campaign, its audiences and its messages in one request."""
    attrs = call.attributes("campaign")
    definition = attrs.get("definition")
    if not isinstance(definition, dict):
        raise invalid("'definition' is a required field.", pointer=f"{_POINTER}/definition")
    if not isinstance(definition.get("name"), str) or not definition["name"].strip():
        raise invalid("'name' is a required field.", pointer=f"{_POINTER}/definition/name")
    now = call.now
    ids = call.world.ids
    campaign = Record(
        ids.ulid(now), {"definition": definition}, now, now, {"audiences": [], "messages": []}
    )
    temporary: dict[str, Record] = {}
    audiences = _list_of_objects(attrs.get("audiences"), f"{_POINTER}/audiences")
    for index, raw in enumerate(audiences):
        pointer = f"{_POINTER}/audiences/{index}"
        spec = {
            "name": raw.get("name"),
            "included": _check_groups(call, raw.get("included"), f"{pointer}/included"),
            "excluded": _check_groups(call, raw.get("excluded"), f"{pointer}/excluded"),
            "priority": index,
        }
        audience = Record(
            ids.ulid(now), {"definition": spec}, now, now, {"campaign": campaign.id, "messages": []}
        )
        temporary[str(raw.get("temporary_id"))] = audience
    messages: list[Record] = []
    variations: list[Record] = []
    for index, raw in enumerate(_list_of_objects(attrs.get("messages"), f"{_POINTER}/messages")):
        target = temporary.get(str(raw.get("audience_temporary_id")))
        if target is None:
            raise invalid(
                "'audience_temporary_id' does not name an audience in this request.",
                pointer=f"{_POINTER}/messages/{index}/audience_temporary_id",
            )
        definition_ = {"name": raw.get("name"), "status": "draft"}
        message = Record(
            ids.ulid(now),
            {"definition": definition_},
            now,
            now,
            {"campaign": campaign.id, "audience": target.id, "template": None, "variations": []},
        )
        pointer = f"{_POINTER}/messages/{index}/variations"
        for number, item in enumerate(as_array(raw.get("variations"), pointer)):
            spec = as_object(
                dig(item, f"{pointer}/{number}", "definition"), f"{pointer}/{number}/definition"
            )
            as_object(spec.get("details"), f"{pointer}/{number}/definition/details")
            variation = Record(
                ids.ulid(now), {"definition": spec}, now, now, {"message": message.id}
            )
            variations.append(variation)
            message.extra["variations"].append(variation.id)
        target.extra["messages"].append(message.id)
        messages.append(message)
    for audience in temporary.values():
        call.account.audiences[audience.id] = audience
        campaign.extra["audiences"].append(audience.id)
    for variation in variations:
        call.account.variations[variation.id] = variation
    for message in messages:
        call.account.messages[message.id] = message
        sync_content(call.account, message)
        campaign.extra["messages"].append(message.id)
    call.account.campaigns[campaign.id] = campaign
    return Reply(201, {"data": render(call, campaign), "links": links_self(call.base, call.path)})


def sync_content(account: Account, message: Record) -> None:
    """Copy a message's first variation's ``details`` into ``extra`` (``channel``, ``content``).

    The channel is ``email`` unless the details name another; ``content`` is the rest.
    """
    details: dict[str, Any] = {}
    for variation_id in message.extra["variations"]:
        variation = account.variations.get(variation_id)
        if variation is not None:
            details = dict(variation.attributes["definition"].get("details") or {})
            break
    message.extra["channel"] = str(details.pop("channel", "email"))
    message.extra["content"] = details


def find(call: Call, table: Mapping[str, Record], kind: str) -> Record:
    """Return the record named by the ``id`` path parameter or raise a 404."""
    record = table.get(call.params["id"])
    if record is None:
        raise not_found(kind, call.params["id"])
    return record


def get_campaign(call: Call) -> Reply:
    """GET /api/campaigns/{id}."""
    record = find(call, call.account.campaigns, "campaign")
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def update_campaign(call: Call) -> Reply:
    """PATCH /api/campaigns/{id}: merge the given ``definition`` fields (not once sent)."""
    record = find(call, call.account.campaigns, "campaign")
    data = call.data("campaign")
    if data.get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the path.",
            pointer="/data/id",
        )
    if record.id in call.account.send_jobs:
        raise invalid("A campaign that was sent cannot be changed.", pointer="/data/id")
    changes = as_object(call.attributes("campaign").get("definition"), f"{_POINTER}/definition")
    name = changes.get("name", record.attributes["definition"].get("name"))
    if not isinstance(name, str) or not name.strip():
        raise invalid("'name' must be a non-empty string.", pointer=f"{_POINTER}/definition/name")
    record.attributes["definition"] = {**record.attributes["definition"], **changes}
    record.updated = call.now
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def delete_campaign(call: Call) -> Reply:
    """DELETE /api/campaigns/{id}: 204; its audiences and messages go with it."""
    record = find(call, call.account.campaigns, "campaign")
    for audience_id in record.extra["audiences"]:
        call.account.audiences.pop(audience_id, None)
    for message_id in record.extra["messages"]:
        message = call.account.messages.pop(message_id, None)
        for variation_id in message.extra["variations"] if message is not None else ():
            call.account.variations.pop(variation_id, None)
    call.account.send_jobs.pop(record.id, None)
    del call.account.campaigns[record.id]
    return Reply(204)


def _campaign_field(account: Account, record: Record) -> Callable[[str], object]:
    definition = record.attributes["definition"]
    channels = {account.messages[m].extra["channel"] for m in record.extra["messages"]}
    channel = next(iter(channels)) if len(channels) == 1 else None

    def get(name: str) -> object:
        if name == "id":
            return record.id
        if name == "created_at":
            return record.created
        if name == "updated_at":
            return record.updated
        if name == "archived":
            return bool(definition.get("archived"))
        if name == "messages.channel":
            return channel
        return definition.get(name)

    return get


def get_campaigns(call: Call) -> Reply:
    """GET /api/campaigns (filter and sort as the SDK documents them)."""
    records = select(
        call.account.campaigns.values(),
        call.query,
        lambda record: _campaign_field(call.account, record),
        filters=_FILTERS,
        time_fields=frozenset({"created_at", "updated_at"}),
        sorts=frozenset({"created_at", "id", "name", "updated_at"}),
    )
    return collection(
        records,
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
        default_size=100,
        max_size=100,
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "update_campaign": update_campaign,
    "delete_campaign": delete_campaign,
    "create_campaign": create_campaign,
    "get_campaign": get_campaign,
    "get_campaigns": get_campaigns,
}
