"""The official SDK drives list operations against a served sandbox and parses every answer."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_client.exceptions import ApiException
from openapi_client.models.get_list_list_response_collection_compound_document import (
    GetListListResponseCollectionCompoundDocument,
)
from openapi_client.models.get_list_retrieve_response_compound_document import (
    GetListRetrieveResponseCompoundDocument,
)
from openapi_client.models.list_create_query import ListCreateQuery
from openapi_client.models.list_members_add_query import ListMembersAddQuery
from openapi_client.models.list_members_delete_query import ListMembersDeleteQuery
from openapi_client.models.list_partial_update_query import ListPartialUpdateQuery
from openapi_client.models.patch_list_partial_update_response import (
    PatchListPartialUpdateResponse,
)
from openapi_client.models.post_list_create_response import PostListCreateResponse
from openapi_client.models.profile_create_query import ProfileCreateQuery


def make_list(sdk: Any, name: str = "Newsletter") -> str:
    query = ListCreateQuery.from_dict({"data": {"type": "list", "attributes": {"name": name}}})
    result = sdk.Lists.create_list(query)
    assert isinstance(result, PostListCreateResponse)
    assert len(result.data.id) == 6
    return str(result.data.id)


def make_profiles(sdk: Any, *emails: str) -> list[str]:
    ids = []
    for email in emails:
        body = {"data": {"type": "profile", "attributes": {"email": email}}}
        ids.append(sdk.Profiles.create_profile(ProfileCreateQuery.from_dict(body)).data.id)
    return ids


def members(ids: list[str]) -> dict[str, Any]:
    return {"data": [{"type": "profile", "id": i} for i in ids]}


def test_create_get_and_list_lists(sdk):
    list_id = make_list(sdk)
    got = sdk.Lists.get_list(list_id, additional_fields_list=["profile_count"])
    assert isinstance(got, GetListRetrieveResponseCompoundDocument)
    assert got.data.attributes.name == "Newsletter"
    listed = sdk.Lists.get_lists(filter='equals(name,"Newsletter")')
    assert isinstance(listed, GetListListResponseCollectionCompoundDocument)
    assert [item.id for item in listed.data] == [list_id]


def test_create_list_without_name_is_400(sdk):
    query = ListCreateQuery.from_dict({"data": {"type": "list", "attributes": {"name": " "}}})
    with pytest.raises(ApiException) as caught:
        sdk.Lists.create_list(query)
    assert caught.value.status == 400


def test_update_and_delete_list(sdk, sandbox):
    list_id = make_list(sdk)
    query = ListPartialUpdateQuery.from_dict(
        {"data": {"type": "list", "id": list_id, "attributes": {"name": "VIP"}}}
    )
    updated = sdk.Lists.update_list(list_id, query)
    assert isinstance(updated, PatchListPartialUpdateResponse)
    assert updated.data.attributes.name == "VIP"
    assert sdk.Lists.delete_list(list_id) is None
    assert list_id not in sandbox.account.lists


def test_add_list_members_and_remove_them(sdk):
    list_id = make_list(sdk)
    ids = make_profiles(sdk, "a@example.com", "b@example.com")
    add = ListMembersAddQuery.from_dict(members(ids))
    assert sdk.Lists.add_profiles_to_list(list_id, add) is None
    profiles = sdk.Lists.get_profiles_for_list(list_id)
    assert type(profiles).__name__ == "GetListMemberResponseCollection"
    assert [p.id for p in profiles.data] == ids
    filtered = sdk.Lists.get_profiles_for_list(list_id, filter='equals(email,"b@example.com")')
    assert [p.id for p in filtered.data] == ids[1:]
    remove = ListMembersDeleteQuery.from_dict(members(ids[:1]))
    assert sdk.Lists.remove_profiles_from_list(list_id, remove) is None
    assert [p.id for p in sdk.Lists.get_profile_ids_for_list(list_id).data] == ids[1:]
    assert [item.id for item in sdk.Profiles.get_lists_for_profile(ids[1]).data] == [list_id]
    assert [item.id for item in sdk.Profiles.get_list_ids_for_profile(ids[1]).data] == [list_id]


def test_adding_an_unknown_profile_points_at_it(sdk):
    list_id = make_list(sdk)
    add = ListMembersAddQuery.from_dict(members(["01HZZZZZZZZZZZZZZZZZZZZZZZ"]))
    with pytest.raises(ApiException) as caught:
        sdk.Lists.add_profiles_to_list(list_id, add)
    assert caught.value.status == 400


def test_members_filter_and_sort_on_joined_group_at(sdk):
    list_id = make_list(sdk)
    ids = make_profiles(sdk, "a@example.com", "b@example.com")
    for profile_id in ids:  # one call each: each joins at its own time
        sdk.Lists.add_profiles_to_list(
            list_id, ListMembersAddQuery.from_dict(members([profile_id]))
        )
    newest_first = sdk.Lists.get_profiles_for_list(list_id, sort="-joined_group_at")
    assert [p.id for p in newest_first.data] == ids[::-1]
    joined = newest_first.data[0].attributes.joined_group_at.isoformat()
    later = sdk.Lists.get_profile_ids_for_list(
        list_id, filter=f"greater-or-equal(joined_group_at,{joined})"
    )
    assert [p.id for p in later.data][-1] == ids[1]
    with pytest.raises(ApiException) as caught:
        sdk.Lists.get_profiles_for_list(list_id, filter='equals(external_id,"x")')
    assert caught.value.status == 400
    by_name = sdk.Lists.get_lists(sort="-name")
    assert [item.id for item in by_name.data] == [list_id]
