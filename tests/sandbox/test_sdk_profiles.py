"""The official SDK drives profile operations against a served sandbox and parses every answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_client.exceptions import ApiException, BadRequestException
from openapi_client.models.get_profile_response_plural_conversations_compound_document import (
    GetProfileResponsePluralConversationsCompoundDocument,
)
from openapi_client.models.patch_profile_response import PatchProfileResponse
from openapi_client.models.post_profile_response import PostProfileResponse
from openapi_client.models.profile_create_query import ProfileCreateQuery
from openapi_client.models.profile_create_query_resource_object_attributes import (
    ProfileCreateQueryResourceObjectAttributes,
)
from openapi_client.models.profile_partial_update_query import ProfilePartialUpdateQuery
from openapi_client.models.profile_partial_update_query_resource_object import (
    ProfilePartialUpdateQueryResourceObject,
)
from openapi_client.models.profile_upsert_query import ProfileUpsertQuery
from openapi_client.models.profile_upsert_query_resource_object import (
    ProfileUpsertQueryResourceObject,
)
from openapi_client.models.profile_upsert_query_resource_object_attributes import (
    ProfileUpsertQueryResourceObjectAttributes,
)

from klaviyo_kit.sandbox import Sandbox


def create(sdk: Any, **attributes: Any) -> PostProfileResponse:
    query = ProfileCreateQuery.from_dict({"data": {"type": "profile", "attributes": attributes}})
    result = sdk.Profiles.create_profile(query)
    assert isinstance(result, PostProfileResponse)
    return result


def test_create_profile(sdk):
    result = create(sdk, email="ada@example.com", first_name="Ada", properties={"plan": "pro"})
    assert result.data.id is not None
    assert len(result.data.id) == 26
    assert result.data.attributes.email == "ada@example.com"
    assert result.data.attributes.properties == {"plan": "pro"}


def test_create_duplicate_profile_is_409_with_the_existing_id(sdk):
    first = create(sdk, email="ada@example.com")
    with pytest.raises(ApiException) as caught:
        create(sdk, email="ada@example.com")
    assert caught.value.status == 409
    error = json.loads(caught.value.body or "")["errors"][0]
    assert error["code"] == "duplicate_profile"
    assert error["meta"]["duplicate_profile_id"] == first.data.id


def test_invalid_email_is_a_400_pointing_at_the_field(sdk):
    with pytest.raises(BadRequestException) as caught:
        create(sdk, email="not-an-email")
    error = json.loads(caught.value.body or "")["errors"][0]
    assert error["source"] == {"pointer": "/data/attributes/email"}
    assert error["code"] == "invalid"


def test_get_profile(sdk):
    made = create(sdk, email="ada@example.com", external_id="ext-1")
    result = sdk.Profiles.get_profile(made.data.id)
    assert isinstance(result, GetProfileResponsePluralConversationsCompoundDocument)
    assert result.data.attributes.external_id == "ext-1"


def test_get_profile_with_subscriptions(sdk):
    made = create(sdk, email="ada@example.com")
    result = sdk.Profiles.get_profile(made.data.id, additional_fields_profile=["subscriptions"])
    consent = result.data.attributes.subscriptions.email.marketing.consent
    assert consent == "NEVER_SUBSCRIBED"


def test_get_missing_profile_is_404(sdk):
    with pytest.raises(ApiException) as caught:
        sdk.Profiles.get_profile("01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert caught.value.status == 404


def test_get_profiles_filters_on_email_and_external_id(sdk):
    create(sdk, email="ada@example.com", external_id="a")
    create(sdk, email="bob@example.com", external_id="b")
    by_email = sdk.Profiles.get_profiles(filter='equals(email,"bob@example.com")')
    assert (
        type(by_email).__name__ == "GetProfileResponsePluralConversationsCollectionCompoundDocument"
    )
    assert [p.attributes.email for p in by_email.data] == ["bob@example.com"]
    by_ext = sdk.Profiles.get_profiles(filter='any(external_id,["a","b"])')
    assert len(by_ext.data) == 2


def test_get_profiles_filters_on_updated(sdk, sandbox):
    create(sdk, email="ada@example.com")
    result = sdk.Profiles.get_profiles(filter="greater-than(updated,2000-01-01T00:00:00Z)")
    assert len(result.data) == 1
    none = sdk.Profiles.get_profiles(filter="less-than(updated,2000-01-01T00:00:00Z)")
    assert none.data == []


def test_get_profiles_rejects_an_unknown_filter_field(sdk):
    with pytest.raises(BadRequestException) as caught:
        sdk.Profiles.get_profiles(filter='equals(nickname,"x")')
    assert json.loads(caught.value.body or "")["errors"][0]["source"] == {"parameter": "filter"}


def test_get_profiles_sorts_and_pages_with_links_next(sdk):
    for name in ["c", "a", "b"]:
        create(sdk, email=f"{name}@example.com")
    first = sdk.Profiles.get_profiles(sort="email", page_size=2)
    assert [p.attributes.email for p in first.data] == ["a@example.com", "b@example.com"]
    assert first.links.next is not None
    second = sdk.Profiles.get_profiles(sort="email", page_size=2, page_cursor=first.links.next)
    assert [p.attributes.email for p in second.data] == ["c@example.com"]
    assert second.links.next is None
    descending = sdk.Profiles.get_profiles(sort="-email")
    assert descending.data[0].attributes.email == "c@example.com"


def test_paging_by_updated_sees_a_change_made_between_pages(sdk):
    made = [create(sdk, email=f"p{i}@example.com").data.id for i in range(5)]
    listing = {"sort": "updated", "page_size": 2}
    first = sdk.Profiles.get_profiles(**listing)
    assert [p.id for p in first.data] == made[:2]
    again = sdk.Profiles.get_profiles(**listing)  # served from the kept listing
    assert [p.id for p in again.data] == made[:2]
    # Touch the first profile: it moves to the end of the `updated` order at once.
    query = ProfilePartialUpdateQuery.from_dict(
        {"data": {"type": "profile", "id": made[0], "attributes": {"first_name": "Moved"}}}
    )
    sdk.Profiles.update_profile(made[0], query)
    after = sdk.Profiles.get_profiles(sort="updated", page_size=100)
    assert [p.id for p in after.data] == [*made[1:], made[0]]
    created = create(sdk, email="late@example.com").data.id
    assert sdk.Profiles.get_profiles(sort="updated", page_size=100).data[-1].id == created


def test_update_profile(sdk):
    made = create(sdk, email="ada@example.com", properties={"a": 1, "b": 2})
    query = ProfilePartialUpdateQuery.from_dict(
        {
            "data": {
                "type": "profile",
                "id": made.data.id,
                "attributes": {"last_name": "Lovelace", "properties": {"c": 3}},
                "meta": {"patch_properties": {"unset": "a"}},
            }
        }
    )
    result = sdk.Profiles.update_profile(made.data.id, query)
    assert isinstance(result, PatchProfileResponse)
    assert result.data.attributes.last_name == "Lovelace"
    assert result.data.attributes.properties == {"b": 2, "c": 3}


def test_create_or_update_profile_upserts(sdk, sandbox):
    def upsert(**attributes: Any) -> Any:
        # Constructors, not from_dict(): that sends every other field as null, which clears it.
        query = ProfileUpsertQuery(
            data=ProfileUpsertQueryResourceObject(
                type="profile", attributes=ProfileUpsertQueryResourceObjectAttributes(**attributes)
            )
        )
        return sdk.Profiles.create_or_update_profile(query)

    first = upsert(email="ada@example.com", first_name="Ada")
    second = upsert(email="ada@example.com", last_name="Lovelace")
    assert first.data.id == second.data.id
    assert second.data.attributes.first_name == "Ada"
    assert len(sandbox.account.profiles) == 1


def test_lists_for_profile(sdk):
    made = create(sdk, email="ada@example.com")
    assert sdk.Profiles.get_lists_for_profile(made.data.id).data == []
    assert sdk.Profiles.get_list_ids_for_profile(made.data.id).data == []


def test_changing_an_email_frees_the_old_one(sdk):
    made = create(sdk, email="old@example.com")
    query = ProfilePartialUpdateQuery(
        data=ProfilePartialUpdateQueryResourceObject(
            type="profile",
            id=made.data.id,
            attributes=ProfileCreateQueryResourceObjectAttributes(email="new@example.com"),
        )
    )
    sdk.Profiles.update_profile(made.data.id, query)
    found = sdk.Profiles.get_profiles(filter='equals(email,"new@example.com")')
    assert [p.id for p in found.data] == [made.data.id]
    assert sdk.Profiles.get_profiles(filter='equals(email,"old@example.com")').data == []
    assert create(sdk, email="old@example.com").data.id != made.data.id


def test_the_sdk_sees_429_with_retry_after_past_the_burst():
    from klaviyo_api import KlaviyoAPI
    from openapi_client.rest import RESTClientObject

    limited = Sandbox(seed=1, clock=lambda: 1_790_000_000.5)
    with limited.serve() as running:
        sdk = KlaviyoAPI("pk_" + "x" * 34, test_host=running.url, max_retries=1)
        # urllib3 (under the raw SDK) itself retries a 429 that has Retry-After, 3 times by
        # default, sleeping each time; switch that off to see the first answer.
        sdk.api_client.configuration.retries = False
        sdk.api_client.rest_client = RESTClientObject(sdk.api_client.configuration)
        sdk.Accounts.get_accounts()
        with pytest.raises(ApiException) as caught:
            sdk.Accounts.get_accounts()
    assert caught.value.status == 429
    assert caught.value.headers is not None
    assert caught.value.headers["Retry-After"] == "1"


def test_merge_profiles_folds_sources_into_the_destination(sdk, sandbox):
    from openapi_client.models.profile_merge_query import ProfileMergeQuery

    keep = create(sdk, email="ada@example.com", properties={"plan": "pro"})
    fold = create(sdk, external_id="crm-7", first_name="Ada", properties={"plan": "free", "x": 1})
    body = {
        "data": {
            "type": "profile-merge",
            "id": keep.data.id,
            "relationships": {"profiles": {"data": [{"type": "profile", "id": fold.data.id}]}},
        }
    }
    merged = sdk.Profiles.merge_profiles(ProfileMergeQuery.from_dict(body))
    assert type(merged).__name__ == "PostProfileMergeResponse"
    assert merged.data.id == keep.data.id
    attrs = sdk.Profiles.get_profile(keep.data.id).data.attributes
    assert (attrs.email, attrs.external_id, attrs.first_name) == ("ada@example.com", "crm-7", "Ada")
    assert attrs.properties == {"plan": "pro", "x": 1}
    assert list(sandbox.account.profiles) == [keep.data.id]
    found = sdk.Profiles.get_profiles(filter='equals(external_id,"crm-7")')
    assert [p.id for p in found.data] == [keep.data.id]
