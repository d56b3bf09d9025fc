"""Campaign message variations (a message's content): create, get, update, delete, list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._campaigns import find, sync_content
from klaviyo_kit.sandbox._context import as_object, dig
from klaviyo_kit.sandbox._jsonapi import (
    Reply,
    SandboxAPIError,
    collection,
    invalid,
    links_self,
    relationship,
)
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call

_KIND = "campaign-variation"
_DEFINITION = "/data/attributes/definition"


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a campaign variation resource object."""
    path = f"/api/campaign-variations/{record.id}"
    message = {"type": "campaign-message", "id": record.extra["message"]}
    return {
        "type": _KIND,
        "id": record.id,
        "attributes": {
            "created": iso(record.created),
            "updated": iso(record.updated),
            "definition": record.attributes["definition"],
        },
        "relationships": {
            "campaign-message": relationship(call.base, path, "campaign-message", message)
        },
        "links": links_self(call.base, path),
    }


def _definition(call: Call) -> dict[str, Any]:
    definition = as_object(call.attributes(_KIND).get("definition"), _DEFINITION)
    as_object(definition.get("details"), f"{_DEFINITION}/details")
    return definition


def _editable(call: Call, message: Record) -> None:
    if message.extra["campaign"] in call.account.send_jobs:
        raise SandboxAPIError(
            400,
            "invalid",
            "Invalid input.",
            "A sent campaign's content cannot be changed.",
            pointer="/data",
        )


def create_campaign_variation(call: Call) -> Reply:
    """POST /api/campaign-variations: 201."""
    data = call.data(_KIND)
    pointer = "/data/relationships/campaign-message/data/id"
    message_id = dig(data, "/data", "relationships", "campaign-message", "data", "id")
    message = call.account.messages.get(str(message_id))
    if message is None:
        raise invalid("The campaign message does not exist.", pointer=pointer)
    _editable(call, message)
    now = call.now
    record = Record(
        call.world.ids.ulid(now),
        {"definition": _definition(call)},
        now,
        now,
        {"message": message.id},
    )
    call.account.variations[record.id] = record
    message.extra["variations"].append(record.id)
    sync_content(call.account, message)
    message.updated = now
    return Reply(201, {"data": render(call, record), "links": links_self(call.base, call.path)})


def get_campaign_variation(call: Call) -> Reply:
    """GET /api/campaign-variations/{id}."""
    record = find(call, call.account.variations, "campaign variation")
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def update_campaign_variation(call: Call) -> Reply:
    """PATCH /api/campaign-variations/{id}: replace the definition."""
    record = find(call, call.account.variations, "campaign variation")
    if call.data(_KIND).get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the path.",
            pointer="/data/id",
        )
    message = call.account.messages[record.extra["message"]]
    _editable(call, message)
    record.attributes["definition"] = _definition(call)
    record.updated = call.now
    sync_content(call.account, message)
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def delete_campaign_variation(call: Call) -> Reply:
    """DELETE /api/campaign-variations/{id}: 204."""
    record = find(call, call.account.variations, "campaign variation")
    message = call.account.messages[record.extra["message"]]
    _editable(call, message)
    message.extra["variations"].remove(record.id)
    del call.account.variations[record.id]
    sync_content(call.account, message)
    return Reply(204)


def _of_message(call: Call) -> list[Record]:
    message = find(call, call.account.messages, "campaign message")
    return [call.account.variations[i] for i in message.extra["variations"]]


def get_variations_for_campaign_message(call: Call) -> Reply:
    """GET /api/campaign-messages/{id}/campaign-variations."""
    return collection(
        _of_message(call),
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def get_variation_ids_for_campaign_message(call: Call) -> Reply:
    """GET /api/campaign-messages/{id}/relationships/campaign-variations."""
    return collection(
        _of_message(call),
        lambda r: {"type": _KIND, "id": r.id},
        base=call.base,
        path=call.path,
        query=call.query,
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "create_campaign_variation": create_campaign_variation,
    "get_campaign_variation": get_campaign_variation,
    "update_campaign_variation": update_campaign_variation,
    "delete_campaign_variation": delete_campaign_variation,
    "get_variations_for_campaign_message": get_variations_for_campaign_message,
    "get_variation_ids_for_campaign_message": get_variation_ids_for_campaign_message,
}
