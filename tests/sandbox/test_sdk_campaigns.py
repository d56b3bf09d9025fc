"""The official SDK drives segments, templates and campaigns (to send jobs) on a served sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from openapi_client.exceptions import ApiException, BadRequestException
from openapi_client.models.campaign_create_query import CampaignCreateQuery
from openapi_client.models.campaign_message_assign_template_query import (
    CampaignMessageAssignTemplateQuery,
)
from openapi_client.models.campaign_send_job_create_query import CampaignSendJobCreateQuery
from openapi_client.models.campaign_send_job_partial_update_query import (
    CampaignSendJobPartialUpdateQuery,
)
from openapi_client.models.list_create_query import ListCreateQuery
from openapi_client.models.list_members_add_query import ListMembersAddQuery
from openapi_client.models.profile_create_query import ProfileCreateQuery
from openapi_client.models.template_create_html_or_dnd_query import TemplateCreateHtmlOrDndQuery

if TYPE_CHECKING:
    from klaviyo_kit.sandbox import Sandbox


def name_of(result: object) -> str:
    return type(result).__name__


def make_profile(sdk: Any, email: str, **attributes: Any) -> str:
    body = {"data": {"type": "profile", "attributes": {"email": email, **attributes}}}
    return str(sdk.Profiles.create_profile(ProfileCreateQuery.from_dict(body)).data.id)


def make_list(sdk: Any, *profile_ids: str) -> str:
    body = {"data": {"type": "list", "attributes": {"name": "Audience"}}}
    list_id = str(sdk.Lists.create_list(ListCreateQuery.from_dict(body)).data.id)
    members = {"data": [{"type": "profile", "id": p} for p in profile_ids]}
    sdk.Lists.add_profiles_to_list(list_id, ListMembersAddQuery.from_dict(members))
    return list_id


def make_template(sdk: Any) -> str:
    body = {
        "data": {
            "type": "template",
            "attributes": {"name": "Hello", "editor_type": "CODE", "html": "<p>Hi</p>"},
        }
    }
    result = sdk.Templates.create_template(TemplateCreateHtmlOrDndQuery.from_dict(body))
    assert name_of(result) == "PostTemplateDndResponse"
    return str(result.data.id)


def make_campaign(sdk: Any, included: list[str], excluded: list[str] | None = None) -> Any:
    body = {
        "data": {
            "type": "campaign",
            "attributes": {
                "definition": {"name": "Spring sale"},
                "audiences": [
                    {"temporary_id": "a1", "included": included, "excluded": excluded or []}
                ],
                "messages": [
                    {
                        "audience_temporary_id": "a1",
                        "name": "Email",
                        "variations": [{"definition": {"details": {"subject": "Hi!"}}}],
                    }
                ],
            },
        }
    }
    result = sdk.Campaigns.create_campaign(CampaignCreateQuery.from_dict(body))
    assert name_of(result) == "PostOmniCampaignResponse"
    return result


def assign(sdk: Any, message_id: str, template_id: str) -> Any:
    body = {
        "data": {
            "type": "campaign-message",
            "id": message_id,
            "relationships": {"template": {"data": {"type": "template", "id": template_id}}},
        }
    }
    query = CampaignMessageAssignTemplateQuery.from_dict(body)
    return sdk.Campaigns.assign_template_to_campaign_message(query)


def send(sdk: Any, campaign_id: str) -> Any:
    body = {"data": {"type": "campaign-send-job", "id": campaign_id}}
    return sdk.Campaigns.send_campaign(CampaignSendJobCreateQuery.from_dict(body))


def test_segments_list_get_and_members(sdk, sandbox: Sandbox):
    vip = make_profile(sdk, "vip@example.com", properties={"vip": True})
    make_profile(sdk, "plain@example.com")
    segment_id = sandbox.add_segment("VIPs", where=lambda p: p.get("properties", {}).get("vip"))
    listed = sdk.Segments.get_segments()
    assert name_of(listed) == "GetSegmentListResponseCollectionCompoundDocument"
    assert [s.id for s in listed.data] == [segment_id]
    got = sdk.Segments.get_segment(segment_id, additional_fields_segment=["profile_count"])
    assert name_of(got) == "GetSegmentRetrieveResponseCompoundDocument"
    assert got.data.attributes.profile_count == 1
    members = sdk.Segments.get_profiles_for_segment(segment_id)
    assert name_of(members) == "GetSegmentMemberResponseCollection"
    assert [p.id for p in members.data] == [vip]
    ids = sdk.Segments.get_profile_ids_for_segment(segment_id)
    assert [p.id for p in ids.data] == [vip]


def test_create_and_get_template(sdk):
    template_id = make_template(sdk)
    got = sdk.Templates.get_template(template_id)
    assert name_of(got) == "GetTemplateDndResponse"
    assert got.data.attributes.html == "<p>Hi</p>"


def test_code_template_without_html_points_at_html(sdk):
    body = {"data": {"type": "template", "attributes": {"name": "x", "editor_type": "CODE"}}}
    with pytest.raises(BadRequestException) as caught:
        sdk.Templates.create_template(TemplateCreateHtmlOrDndQuery.from_dict(body))
    assert "/data/attributes/html" in (caught.value.body or "")


def test_create_campaign_with_audiences_and_messages(sdk):
    list_id = make_list(sdk, make_profile(sdk, "a@example.com"))
    created = make_campaign(sdk, [list_id])
    campaign_id = created.data.id
    got = sdk.Campaigns.get_campaign(campaign_id)
    assert name_of(got) == "GetOmniCampaignResponseCompoundDocument"
    assert got.data.attributes.definition.name == "Spring sale"
    listed = sdk.Campaigns.get_campaigns()
    assert name_of(listed) == "GetOmniCampaignResponseCollectionCompoundDocument"
    messages = sdk.Campaigns.get_messages_for_campaign(campaign_id)
    assert name_of(messages) == "GetMessageResponseCollectionCompoundDocument"
    message = sdk.Campaigns.get_campaign_message(messages.data[0].id)
    assert name_of(message) == "GetMessageResponseCompoundDocument"
    audiences = sdk.Campaigns.get_campaign_audiences_for_campaign(campaign_id)
    assert name_of(audiences) == "GetAudienceResponseCollection"
    audience = sdk.Campaigns.get_campaign_audience(audiences.data[0].id)
    assert name_of(audience) == "GetAudienceResponseCompoundDocument"
    assert audience.data.attributes.definition.included == [list_id]


def test_campaign_audience_must_exist(sdk):
    with pytest.raises(BadRequestException) as caught:
        make_campaign(sdk, ["NoSuch"])
    assert "/data/attributes/audiences/0/included/0" in (caught.value.body or "")


def test_assign_template_then_send_moves_queued_processing_complete(sdk, sandbox: Sandbox):
    reached = make_profile(sdk, "a@example.com")
    excluded = make_profile(sdk, "b@example.com")
    campaign = make_campaign(sdk, [make_list(sdk, reached, excluded)], [make_list(sdk, excluded)])
    message_id = campaign.data.relationships.campaign_messages.data[0].id
    with pytest.raises(BadRequestException):
        send(sdk, campaign.data.id)
    assigned = assign(sdk, message_id, make_template(sdk))
    assert name_of(assigned) == "PostCampaignMessageResponse"
    job = send(sdk, campaign.data.id)
    assert name_of(job) == "PostCampaignSendJobResponse"
    assert job.data.attributes.status == "queued"
    statuses = [
        sdk.Campaigns.get_campaign_send_job(campaign.data.id).data.attributes.status
        for _ in range(3)
    ]
    assert statuses == ["processing", "complete", "complete"]
    received = [e for e in sandbox.account.events.values() if e.extra["profile_id"] == reached]
    assert [e.attributes["properties"]["Campaign Name"] for e in received] == ["Spring sale"]
    assert not [e for e in sandbox.account.events.values() if e.extra["profile_id"] == excluded]


def test_cancel_campaign_send(sdk):
    campaign = make_campaign(sdk, [make_list(sdk, make_profile(sdk, "a@example.com"))])
    assign(sdk, campaign.data.relationships.campaign_messages.data[0].id, make_template(sdk))
    send(sdk, campaign.data.id)
    body = {
        "data": {
            "type": "campaign-send-job",
            "id": campaign.data.id,
            "attributes": {"action": "cancel"},
        }
    }
    query = CampaignSendJobPartialUpdateQuery.from_dict(body)
    assert sdk.Campaigns.cancel_campaign_send(campaign.data.id, query) is None
    job = sdk.Campaigns.get_campaign_send_job(campaign.data.id)
    assert job.data.attributes.status == "cancelled"
    with pytest.raises(ApiException) as caught:
        sdk.Campaigns.cancel_campaign_send(campaign.data.id, query)
    assert caught.value.status == 400


def test_get_campaigns_filters_and_sorts_as_the_sdk_documents(sdk):
    list_id = make_list(sdk, make_profile(sdk, "a@example.com"))
    first, second = make_campaign(sdk, [list_id]), make_campaign(sdk, [list_id])
    named = sdk.Campaigns.get_campaigns(filter="contains(name,'Spring')", sort="-created_at")
    assert [c.id for c in named.data] == [second.data.id, first.data.id]
    assert sdk.Campaigns.get_campaigns(filter="equals(archived,true)").data == []
    # Earlier revisions require a channel filter; it is still accepted and applied.
    email = sdk.Campaigns.get_campaigns(filter="equals(messages.channel,'email')")
    assert len(email.data) == 2
    assert sdk.Campaigns.get_campaigns(filter="equals(messages.channel,'sms')").data == []
    with pytest.raises(BadRequestException) as caught:
        sdk.Campaigns.get_campaigns(filter="equals(status,'Sent')")
    assert '"parameter": "filter"' in (caught.value.body or "")


def test_update_and_delete_campaign(sdk, sandbox: Sandbox):
    from openapi_client.models.campaign_partial_update_query import CampaignPartialUpdateQuery

    campaign = make_campaign(sdk, [make_list(sdk, make_profile(sdk, "a@example.com"))])
    campaign_id = campaign.data.id
    body = {
        "data": {
            "type": "campaign",
            "id": campaign_id,
            "attributes": {"definition": {"name": "Summer sale"}},
        }
    }
    query = CampaignPartialUpdateQuery.from_dict(body)
    updated = sdk.Campaigns.update_campaign(campaign_id, query)
    assert name_of(updated) == "PatchOmniCampaignResponse"
    assert updated.data.attributes.definition.name == "Summer sale"
    assert sdk.Campaigns.delete_campaign(campaign_id) is None
    assert sandbox.account.campaigns == {}
    assert sandbox.account.messages == {}


def test_list_update_and_delete_templates(sdk, sandbox: Sandbox):
    from openapi_client.models.template_update_html_or_dnd_query import (
        TemplateUpdateHtmlOrDndQuery,
    )

    template_id = make_template(sdk)
    listed = sdk.Templates.get_templates(filter='equals(name,"Hello")', sort="-created")
    assert name_of(listed) == "GetTemplateDndResponseCollection"
    assert [t.id for t in listed.data] == [template_id]
    body = {"data": {"type": "template", "id": template_id, "attributes": {"html": "<b>Yo</b>"}}}
    query = TemplateUpdateHtmlOrDndQuery.from_dict(body)
    updated = sdk.Templates.update_template(template_id, query)
    assert name_of(updated) == "PatchTemplateDndResponse"
    assert updated.data.attributes.html == "<b>Yo</b>"
    assert updated.data.attributes.name == "Hello"
    assert sdk.Templates.delete_template(template_id) is None
    assert sandbox.account.templates == {}


def test_campaign_variations_carry_the_message_content(sdk, sandbox: Sandbox):
    from openapi_client.models.variation_create_query import VariationCreateQuery
    from openapi_client.models.variation_partial_update_query import VariationPartialUpdateQuery

    campaign = make_campaign(sdk, [make_list(sdk, make_profile(sdk, "a@example.com"))])
    message_id = campaign.data.relationships.campaign_messages.data[0].id
    inline = sdk.Campaigns.get_variations_for_campaign_message(message_id)
    assert name_of(inline) == "GetVariationResponseCollection"
    assert [v.attributes.definition.details for v in inline.data] == [{"subject": "Hi!"}]
    first = inline.data[0].id
    edit = {
        "data": {
            "type": "campaign-variation",
            "id": first,
            "attributes": {"definition": {"details": {"subject": "New", "channel": "sms"}}},
        }
    }
    sdk.Campaigns.update_campaign_variation(first, VariationPartialUpdateQuery.from_dict(edit))
    assert sandbox.account.messages[message_id].extra["channel"] == "sms"
    edit["data"]["attributes"]["definition"]["details"] = {"subject": "Hi!"}
    sdk.Campaigns.update_campaign_variation(first, VariationPartialUpdateQuery.from_dict(edit))
    body = {
        "data": {
            "type": "campaign-variation",
            "attributes": {"definition": {"name": "B", "details": {"subject": "Hey"}}},
            "relationships": {
                "campaign-message": {"data": {"type": "campaign-message", "id": message_id}}
            },
        }
    }
    created = sdk.Campaigns.create_campaign_variation(VariationCreateQuery.from_dict(body))
    assert name_of(created) == "PostVariationResponse"
    variation_id = created.data.id
    got = sdk.Campaigns.get_campaign_variation(variation_id)
    assert name_of(got) == "GetVariationResponseCompoundDocument"
    update = {
        "data": {
            "type": "campaign-variation",
            "id": variation_id,
            "attributes": {"definition": {"details": {"subject": "Hello"}}},
        }
    }
    query = VariationPartialUpdateQuery.from_dict(update)
    updated = sdk.Campaigns.update_campaign_variation(variation_id, query)
    assert name_of(updated) == "PatchVariationResponse"
    assert updated.data.attributes.definition.details == {"subject": "Hello"}
    ids = sdk.Campaigns.get_variation_ids_for_campaign_message(message_id)
    assert [v.id for v in ids.data] == [inline.data[0].id, variation_id]
    assert sandbox.account.messages[message_id].extra["content"] == {"subject": "Hi!"}
    assert sdk.Campaigns.delete_campaign_variation(variation_id) is None
    assert list(sandbox.account.variations) == [inline.data[0].id]
    message = sdk.Campaigns.get_campaign_message(message_id)
    assert [v.id for v in message.data.relationships.campaign_variations.data] == [
        inline.data[0].id
    ]


def test_create_update_and_delete_a_segment_by_definition(sdk, sandbox: Sandbox):
    from openapi_client.models.segment_create_query import SegmentCreateQuery
    from openapi_client.models.segment_partial_update_query import SegmentPartialUpdateQuery

    inside = make_profile(sdk, "in@example.com")
    make_profile(sdk, "out@example.com")
    list_id = make_list(sdk, inside)
    condition = {"type": "profile-group-membership", "is_member": True, "group_ids": [list_id]}
    body = {
        "data": {
            "type": "segment",
            "attributes": {
                "name": "On the list",
                "definition": {"condition_groups": [{"conditions": [condition]}]},
            },
        }
    }
    created = sdk.Segments.create_segment(SegmentCreateQuery.from_dict(body))
    assert name_of(created) == "PostSegmentCreateResponse"
    segment_id = created.data.id
    members = sdk.Segments.get_profile_ids_for_segment(segment_id)
    assert [p.id for p in members.data] == [inside]
    update = {"data": {"type": "segment", "id": segment_id, "attributes": {"name": "Renamed"}}}
    updated = sdk.Segments.update_segment(segment_id, SegmentPartialUpdateQuery.from_dict(update))
    assert name_of(updated) == "PatchSegmentPartialUpdateResponse"
    assert updated.data.attributes.name == "Renamed"
    assert sdk.Segments.delete_segment(segment_id) is None
    assert sandbox.account.segments == {}
