from __future__ import annotations

import pytest

from klaviyo_kit.operations import operation
from klaviyo_kit.resilience import is_idempotent


class Model:
    """Stands in for an SDK pydantic model: only ``to_dict()`` matters."""

    def __init__(self, body: dict[str, object]) -> None:
        self.body = body

    def to_dict(self) -> dict[str, object]:
        return self.body


def event(unique_id: str | None) -> dict[str, object]:
    attributes: dict[str, object] = {"properties": {}, "metric": {"data": {"type": "metric"}}}
    if unique_id is not None:
        attributes["unique_id"] = unique_id
    return {"type": "event", "attributes": attributes}


def bulk(*events: dict[str, object]) -> dict[str, object]:
    entry = {
        "type": "event-bulk-create",
        "attributes": {"profile": {"data": {"type": "profile"}}, "events": {"data": list(events)}},
    }
    return {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {"events-bulk-create": {"data": [entry]}},
        }
    }


@pytest.mark.parametrize(
    "name",
    [
        "get_profiles",
        "update_profile",
        "delete_flow",
        "create_or_update_profile",
        "bulk_import_profiles",
        "spawn_bulk_profile_import_job",
        "add_profiles_to_list",
        "remove_profiles_from_list",
        "bulk_subscribe_profiles",
        "query_campaign_values",
    ],
)
def test_idempotent_operations(name):
    assert is_idempotent(operation(name))


@pytest.mark.parametrize(
    "name",
    ["create_profile", "create_list", "create_campaign", "send_campaign", "merge_profiles"],
)
def test_plain_creates_are_not_idempotent(name):
    assert not is_idempotent(operation(name))


def test_events_need_a_unique_id_on_every_event():
    create = operation("create_event")
    assert is_idempotent(create, ({"data": event("a")},))
    assert is_idempotent(create, (Model({"data": event("a")}),))
    assert not is_idempotent(create, ({"data": event(None)},))
    assert not is_idempotent(create, ({"data": event("  ")},))
    assert not is_idempotent(create)
    many = operation("bulk_create_events")
    assert is_idempotent(many, (), {"events_bulk_create_job": bulk(event("a"), event("b"))})
    assert not is_idempotent(many, (bulk(event("a"), event(None)),))
    assert not is_idempotent(many, (bulk(),))
    assert not is_idempotent(many, (), {"_request_auth": bulk(event("a"))})
