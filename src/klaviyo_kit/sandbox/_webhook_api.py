"""Webhooks API: CRUD of system webhook subscriptions and the topics they can listen to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from klaviyo_kit.sandbox._context import dig, optional_str, require_str
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
from klaviyo_kit.sandbox._topics import SYSTEM_TOPICS, topic_for

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._state import Account

_POINTER = "/data/attributes"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_WEBHOOKS = 10


def topics(account: Account) -> list[str]:
    """Return the topic ids an account offers: system topics plus one per API metric."""
    dynamic = [
        topic_for(m.attributes["name"], "api")
        for m in account.metrics.values()
        if m.attributes["integration"]["key"] == "api"
    ]
    return [*SYSTEM_TOPICS, *dynamic]


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a webhook resource object (never its secret)."""
    path = f"/api/webhooks/{record.id}"
    attrs = record.attributes
    data = [{"type": "webhook-topic", "id": t} for t in record.extra["topics"]]
    return {
        "type": "webhook",
        "id": record.id,
        "attributes": {
            "name": attrs["name"],
            "description": attrs.get("description"),
            "endpoint_url": attrs["endpoint_url"],
            "enabled": attrs.get("enabled", True),
            "created_at": iso(record.created),
            "updated_at": iso(record.updated),
        },
        "relationships": {"webhook-topics": relationship(call.base, path, "webhook-topics", data)},
        "links": links_self(call.base, path),
    }


def check_url(url: str, pointer: str) -> None:
    """Require ``https`` (plain ``http`` only on loopback, for local receivers)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return
    if parts.scheme == "callable":
        return
    raise invalid("Endpoint URL must be https.", pointer=pointer)


def _topic_ids(call: Call, data: Mapping[str, Any], *, required: bool) -> list[str] | None:
    rel = dig(data, "/data", "relationships", "webhook-topics")
    pointer = "/data/relationships/webhook-topics/data"
    if rel is None and not required:
        return None
    items = dig(rel, "/data/relationships/webhook-topics", "data")
    if not isinstance(items, list) or not items:
        raise invalid("At least one webhook topic is required.", pointer=pointer)
    known = set(topics(call.account))
    ids = []
    for index, item in enumerate(items):
        topic = str(dig(item, f"{pointer}/{index}", "id"))
        if topic not in known:
            raise invalid(f"Unknown webhook topic {topic}.", pointer=f"{pointer}/{index}/id")
        ids.append(topic)
    return ids


def create_webhook(call: Call) -> Reply:
    """POST /api/webhooks: 201."""
    data = call.data("webhook")
    raw = call.attributes("webhook")
    if len(call.account.webhooks) >= MAX_WEBHOOKS:
        raise invalid("An account can have at most 10 webhooks.", pointer="/data")
    url = require_str(raw, "endpoint_url", _POINTER)
    check_url(url, f"{_POINTER}/endpoint_url")
    attrs = {
        "name": require_str(raw, "name", _POINTER),
        "description": optional_str(raw, "description", _POINTER),
        "endpoint_url": url,
        "enabled": True,
    }
    secret = require_str(raw, "secret_key", _POINTER)
    topic_ids = _topic_ids(call, data, required=True) or []
    now = call.now
    record = Record(
        call.world.ids.ulid(now), attrs, now, now, {"secret_key": secret, "topics": topic_ids}
    )
    call.account.webhooks[record.id] = record
    return Reply(201, {"data": render(call, record), "links": links_self(call.base, call.path)})


def _find(call: Call) -> Record:
    record = call.account.webhooks.get(call.params["id"])
    if record is None:
        raise not_found("webhook", call.params["id"])
    return record


def update_webhook(call: Call) -> Reply:
    """PATCH /api/webhooks/{id}."""
    record = _find(call)
    data = call.data("webhook")
    if data.get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the path.",
            pointer="/data/id",
        )
    raw = call.attributes("webhook")
    for name in ("name", "description", "endpoint_url"):
        if raw.get(name) is not None:
            record.attributes[name] = optional_str(raw, name, _POINTER)
    if raw.get("endpoint_url") is not None:
        check_url(str(raw["endpoint_url"]), f"{_POINTER}/endpoint_url")
    if raw.get("enabled") is not None:
        if not isinstance(raw["enabled"], bool):
            raise invalid("'enabled' must be a boolean.", pointer=f"{_POINTER}/enabled")
        record.attributes["enabled"] = raw["enabled"]
    if raw.get("secret_key") is not None:
        record.extra["secret_key"] = require_str(raw, "secret_key", _POINTER)
    topic_ids = _topic_ids(call, data, required=False)
    if topic_ids is not None:
        record.extra["topics"] = topic_ids
    record.updated = call.now
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def get_webhook(call: Call) -> Reply:
    """GET /api/webhooks/{id}."""
    return Reply(
        200, {"data": render(call, _find(call)), "links": links_self(call.base, call.path)}
    )


def get_webhooks(call: Call) -> Reply:
    """GET /api/webhooks."""
    return collection(
        list(call.account.webhooks.values()),
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def delete_webhook(call: Call) -> Reply:
    """DELETE /api/webhooks/{id}: 204."""
    del call.account.webhooks[_find(call).id]
    return Reply(204)


def _topic(call: Call, topic: str) -> dict[str, Any]:
    return {
        "type": "webhook-topic",
        "id": topic,
        "links": links_self(call.base, f"/api/webhook-topics/{topic}"),
    }


def get_webhook_topics(call: Call) -> Reply:
    """GET /api/webhook-topics."""
    return collection(
        topics(call.account),
        lambda t: _topic(call, t),
        base=call.base,
        path=call.path,
        query=call.query,
        default_size=100,
        max_size=100,
    )


def get_webhook_topic(call: Call) -> Reply:
    """GET /api/webhook-topics/{id}."""
    topic = call.params["id"]
    if topic not in topics(call.account):
        raise not_found("webhook topic", topic)
    return Reply(200, {"data": _topic(call, topic), "links": links_self(call.base, call.path)})


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "create_webhook": create_webhook,
    "update_webhook": update_webhook,
    "get_webhook": get_webhook,
    "get_webhooks": get_webhooks,
    "delete_webhook": delete_webhook,
    "get_webhook_topics": get_webhook_topics,
    "get_webhook_topic": get_webhook_topic,
}
