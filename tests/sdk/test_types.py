from __future__ import annotations

import pytest

from klaviyo_kit.sdk.types import (
    CampaignSendJob,
    Document,
    Event,
    List,
    Metric,
    Profile,
    ProfileImportJob,
    next_cursor,
)

PAGE = {
    "data": [
        {
            "type": "profile",
            "id": "01P1",
            "attributes": {
                "email": "ada@example.com",
                "created": "2026-01-02T03:04:05+00:00",
                "properties": {"plan": "pro", "seats": 3},
                "location": {"city": "London", "brand_new_field": 1},
                "a_new_attribute": "kept",
            },
            "relationships": {
                "lists": {"data": [{"type": "list", "id": "L1"}, {"type": "list", "id": "L2"}]},
                "segments": {"links": {"self": "x"}},
            },
            "links": {"self": "https://a.klaviyo.com/api/profiles/01P1/"},
        }
    ],
    "included": [{"type": "list", "id": "L1", "attributes": {"name": "Newsletter"}}],
    "links": {
        "self": "https://a.klaviyo.com/api/profiles",
        "next": "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc%3D%3D&page%5Bsize%5D=1",
        "prev": None,
    },
}


def test_document_resources_and_included():
    doc = Document.parse(PAGE)
    (profile,) = doc.resources(Profile)
    assert profile.id == "01P1"
    assert profile.email == "ada@example.com"
    assert profile.created is not None
    assert profile.created.year == 2026
    assert profile.properties == {"plan": "pro", "seats": 3}
    assert profile.location is not None
    assert profile.location.city == "London"
    assert profile.relationships == {"lists": ["L1", "L2"]}
    assert profile.model_extra == {"a_new_attribute": "kept"}
    assert [lst.name for lst in doc.included_of(List)] == ["Newsletter"]
    assert doc.next_cursor == "abc=="


def test_models_are_frozen():
    profile = Profile.from_resource({"type": "profile", "id": "1", "attributes": {}})
    with pytest.raises(ValueError, match="frozen"):
        profile.email = "x"  # type: ignore[misc]


def test_wrong_type_is_rejected():
    with pytest.raises(ValueError, match="expected a 'metric'"):
        Metric.from_resource({"type": "profile", "id": "1"})


def test_event_relationships_and_aliases():
    event = Event.from_resource(
        {
            "type": "event",
            "id": "E1",
            "attributes": {
                "timestamp": 1767225600,
                "datetime": "2026-01-01T00:00:00+00:00",
                "event_properties": {"value": 9.5},
                "uuid": "u",
            },
            "relationships": {
                "metric": {"data": {"type": "metric", "id": "M1"}},
                "profile": {"data": {"type": "profile", "id": "P1"}},
            },
        }
    )
    assert event.metric_id == "M1"
    assert event.profile_id == "P1"
    assert event.unix_time == 1767225600
    assert event.time is not None


def test_jobs():
    job = ProfileImportJob.from_resource(
        {
            "type": "profile-bulk-import-job",
            "id": "J",
            "attributes": {"status": "complete", "total_count": 3, "failed_count": 1},
        }
    )
    assert job.done
    assert job.failed_count == 1
    send = CampaignSendJob.from_resource(
        {"type": "campaign-send-job", "id": "C", "attributes": {"status": "queued"}}
    )
    assert send.status == "queued"


@pytest.mark.parametrize("payload", [None, b"", ""])
def test_empty_bodies_give_empty_documents(payload):
    doc = Document.parse(payload)
    assert doc.resources(Profile) == []
    assert doc.next_cursor is None


def test_single_resource_document():
    doc = Document.parse({"data": {"type": "list", "id": "L9", "attributes": {"name": "VIP"}}})
    assert doc.resource(List).name == "VIP"
    with pytest.raises(ValueError, match="single resource"):
        Document.parse(PAGE).resource(Profile)
    with pytest.raises(TypeError):
        Document.parse([1, 2])


@pytest.mark.parametrize(
    ("url", "cursor"),
    [
        (None, None),
        ("https://a.klaviyo.com/api/events?page[cursor]=xyz", "xyz"),
        ("https://a.klaviyo.com/api/events?page%5Bcursor%5D=a%2Bb&sort=-datetime", "a+b"),
        ("https://a.klaviyo.com/api/events?sort=-datetime", None),
    ],
)
def test_next_cursor(url, cursor):
    assert next_cursor(url) == cursor


def test_campaign_name_is_lifted_from_the_definition():
    from klaviyo_kit.sdk.types import Campaign

    campaign = Campaign.from_resource(
        {
            "type": "campaign",
            "id": "C1",
            "attributes": {
                "definition": {"name": "Spring", "archived": False, "builder": "canvas"}
            },
        }
    )
    assert campaign.name == "Spring"
    assert campaign.archived is False
    assert campaign.definition is not None
    assert campaign.definition["builder"] == "canvas"
    old = Campaign.from_resource({"type": "campaign", "id": "C2", "attributes": {"name": "Old"}})
    assert old.name == "Old"


def test_a_next_link_without_a_cursor_is_an_error_not_the_last_page():
    doc = Document.parse(
        {"data": [], "links": {"next": "https://a.klaviyo.com/api/profiles?sort=id"}}
    )
    with pytest.raises(ValueError, match="no page"):
        _ = doc.next_cursor
