"""Campaign messages and audiences: get, list per campaign, and template assignment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._campaigns import find, ids_of
from klaviyo_kit.sandbox._context import dig
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


def render_message(call: Call, record: Record) -> dict[str, Any]:
    """Return a campaign message resource object."""
    path = f"/api/campaign-messages/{record.id}"
    extra = record.extra
    return {
        "type": "campaign-message",
        "id": record.id,
        "attributes": {
            "created": iso(record.created),
            "updated": iso(record.updated),
            "definition": record.attributes["definition"],
        },
        "relationships": {
            "campaign": relationship(
                call.base, path, "campaign", {"type": "campaign", "id": extra["campaign"]}
            ),
            "campaign-audience": relationship(
                call.base,
                path,
                "campaign-audience",
                {"type": "campaign-audience", "id": extra["audience"]},
            ),
            "campaign-variations": relationship(
                call.base,
                path,
                "campaign-variations",
                ids_of("campaign-variation", extra["variations"]),
            ),
        },
        "links": links_self(call.base, path),
    }


def render_audience(call: Call, record: Record) -> dict[str, Any]:
    """Return a campaign audience resource object."""
    path = f"/api/campaign-audiences/{record.id}"
    return {
        "type": "campaign-audience",
        "id": record.id,
        "attributes": {
            "created": iso(record.created),
            "updated": iso(record.updated),
            "definition": record.attributes["definition"],
        },
        "relationships": {
            "campaign": relationship(
                call.base, path, "campaign", {"type": "campaign", "id": record.extra["campaign"]}
            ),
            "campaign-messages": relationship(
                call.base,
                path,
                "campaign-messages",
                ids_of("campaign-message", record.extra["messages"]),
            ),
        },
        "links": links_self(call.base, path),
    }


def get_campaign_message(call: Call) -> Reply:
    """GET /api/campaign-messages/{id}."""
    record = find(call, call.account.messages, "campaign message")
    document = {"data": render_message(call, record), "links": links_self(call.base, call.path)}
    return Reply(200, document)


def get_messages_for_campaign(call: Call) -> Reply:
    """GET /api/campaigns/{id}/campaign-messages."""
    campaign = find(call, call.account.campaigns, "campaign")
    records = [call.account.messages[i] for i in campaign.extra["messages"]]
    return collection(
        records, lambda r: render_message(call, r), base=call.base, path=call.path, query=call.query
    )


def get_campaign_audience(call: Call) -> Reply:
    """GET /api/campaign-audiences/{id}."""
    record = find(call, call.account.audiences, "campaign audience")
    document = {"data": render_audience(call, record), "links": links_self(call.base, call.path)}
    return Reply(200, document)


def get_campaign_audiences_for_campaign(call: Call) -> Reply:
    """GET /api/campaigns/{id}/campaign-audiences."""
    campaign = find(call, call.account.campaigns, "campaign")
    records = [call.account.audiences[i] for i in campaign.extra["audiences"]]
    return collection(
        records,
        lambda r: render_audience(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def assign_template_to_campaign_message(call: Call) -> Reply:
    """POST /api/campaign-message-assign-template."""
    data = call.data("campaign-message")
    message = call.account.messages.get(str(data.get("id")))
    if message is None:
        raise not_found("campaign message", str(data.get("id")))
    template_id = dig(data, "/data", "relationships", "template", "data", "id")
    template = call.account.templates.get(str(template_id))
    if template is None:
        raise invalid(
            "The template does not exist.", pointer="/data/relationships/template/data/id"
        )
    if message.extra.get("sent"):
        raise SandboxAPIError(
            400,
            "invalid",
            "Invalid input.",
            "A sent message cannot be changed.",
            pointer="/data/id",
        )
    message.extra["template"] = template.id
    message.updated = call.now
    path = f"/api/campaign-messages/{message.id}"
    resource = {
        "type": "campaign-message",
        "id": message.id,
        "attributes": {
            "label": message.attributes["definition"].get("name") or "",
            "channel": message.extra["channel"],
            "content": message.extra["content"],
            "created_at": iso(message.created),
            "updated_at": iso(message.updated),
        },
        "relationships": {
            "campaign": relationship(
                call.base, path, "campaign", {"type": "campaign", "id": message.extra["campaign"]}
            ),
            "template": relationship(
                call.base, path, "template", {"type": "template", "id": template.id}
            ),
        },
        "links": links_self(call.base, path),
    }
    return Reply(200, {"data": resource, "links": links_self(call.base, call.path)})


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_campaign_message": get_campaign_message,
    "get_messages_for_campaign": get_messages_for_campaign,
    "get_campaign_audience": get_campaign_audience,
    "get_campaign_audiences_for_campaign": get_campaign_audiences_for_campaign,
    "assign_template_to_campaign_message": assign_template_to_campaign_message,
}
