"""The official SDK drives bulk imports, subscriptions and suppressions against a served sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openapi_client.models.list_create_query import ListCreateQuery
from openapi_client.models.profile_import_job_create_query import ProfileImportJobCreateQuery
from openapi_client.models.subscription_create_job_create_query import (
    SubscriptionCreateJobCreateQuery,
)
from openapi_client.models.subscription_delete_job_create_query import (
    SubscriptionDeleteJobCreateQuery,
)
from openapi_client.models.suppression_create_job_create_query import (
    SuppressionCreateJobCreateQuery,
)
from openapi_client.models.suppression_delete_job_create_query import (
    SuppressionDeleteJobCreateQuery,
)

if TYPE_CHECKING:
    from klaviyo_kit.sandbox import Sandbox


def name_of(result: object) -> str:
    return type(result).__name__


def make_list(sdk: Any) -> str:
    body = {"data": {"type": "list", "attributes": {"name": "Imported"}}}
    return str(sdk.Lists.create_list(ListCreateQuery.from_dict(body)).data.id)


def import_job(sdk: Any, emails: list[str], list_id: str) -> Any:
    body = {
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": {
                "profiles": {
                    "data": [
                        {"type": "profile", "attributes": {"email": e, "first_name": "X"}}
                        for e in emails
                    ]
                }
            },
            "relationships": {"lists": {"data": [{"type": "list", "id": list_id}]}},
        }
    }
    return sdk.Profiles.bulk_import_profiles(ProfileImportJobCreateQuery.from_dict(body))


def test_bulk_import_job_moves_to_complete_and_reports_errors(sdk, sandbox: Sandbox):
    list_id = make_list(sdk)
    job = import_job(sdk, ["a@example.com", "broken", "b@example.com"], list_id)
    assert name_of(job) == "PostProfileImportJobResponse"
    assert job.data.attributes.status == "queued"
    assert job.data.attributes.total_count == 3
    polls = [sdk.Profiles.get_bulk_import_profiles_job(job.data.id) for _ in range(2)]
    assert name_of(polls[0]) == "GetProfileImportJobResponseCompoundDocument"
    assert [p.data.attributes.status for p in polls] == ["processing", "complete"]
    done = polls[-1].data.attributes
    assert (done.completed_count, done.failed_count) == (2, 1)
    errors = sdk.Profiles.get_errors_for_bulk_import_profiles_job(job.data.id)
    assert name_of(errors) == "GetImportErrorResponseCollection"
    error = errors.data[0].attributes
    assert error.source.pointer == "/data/attributes/profiles/data/1/attributes/email"
    assert (error.original_payload or {})["email"] == "broken"
    profiles = sdk.Profiles.get_profiles_for_bulk_import_profiles_job(job.data.id)
    assert sorted(p.attributes.email for p in profiles.data) == ["a@example.com", "b@example.com"]
    assert len(sandbox.account.list_members[list_id]) == 2
    jobs = sdk.Profiles.get_bulk_import_profiles_jobs()
    assert name_of(jobs) == "GetProfileImportJobResponseCollectionCompoundDocument"
    lists = sdk.Profiles.get_list_for_bulk_import_profiles_job(job.data.id)
    assert [item.id for item in lists.data] == [list_id]


def consent_entry(email: str, consent: str) -> dict[str, Any]:
    channel = {"marketing": {"consent": consent}}
    return {"type": "profile", "attributes": {"email": email, "subscriptions": {"email": channel}}}


def test_subscribe_then_unsubscribe(sdk, sandbox: Sandbox):
    list_id = make_list(sdk)
    body = {
        "data": {
            "type": "profile-subscription-bulk-create-job",
            "attributes": {"profiles": {"data": [consent_entry("a@example.com", "SUBSCRIBED")]}},
            "relationships": {"list": {"data": {"type": "list", "id": list_id}}},
        }
    }
    query = SubscriptionCreateJobCreateQuery.from_dict(body)
    assert sdk.Profiles.bulk_subscribe_profiles(query) is None
    profile_id = next(iter(sandbox.account.list_members[list_id]))
    got = sdk.Profiles.get_profile(profile_id, additional_fields_profile=["subscriptions"])
    assert got.data.attributes.subscriptions.email.marketing.consent == "SUBSCRIBED"
    body = {
        "data": {
            "type": "profile-subscription-bulk-delete-job",
            "attributes": {"profiles": {"data": [consent_entry("a@example.com", "UNSUBSCRIBED")]}},
        }
    }
    query_out = SubscriptionDeleteJobCreateQuery.from_dict(body)
    assert sdk.Profiles.bulk_unsubscribe_profiles(query_out) is None
    got = sdk.Profiles.get_profile(profile_id, additional_fields_profile=["subscriptions"])
    assert got.data.attributes.subscriptions.email.marketing.consent == "UNSUBSCRIBED"


def is_suppressed(sandbox: Sandbox, email: str) -> bool:
    profile = sandbox.account.find_profile("email", email)
    assert profile is not None
    return bool(profile.extra["suppressed"])


def suppression_body(kind: str, *emails: str) -> dict[str, Any]:
    entries = [{"type": "profile", "attributes": {"email": e}} for e in emails]
    return {"data": {"type": kind, "attributes": {"profiles": {"data": entries}}}}


def test_suppress_and_unsuppress_jobs(sdk, sandbox: Sandbox):
    body = suppression_body("profile-suppression-bulk-create-job", "a@example.com")
    job = sdk.Profiles.bulk_suppress_profiles(SuppressionCreateJobCreateQuery.from_dict(body))
    assert name_of(job) == "PostBulkProfileSuppressionsCreateJobResponse"
    statuses = [
        sdk.Profiles.get_bulk_suppress_profiles_job(job.data.id).data.attributes.status
        for _ in range(2)
    ]
    assert statuses == ["processing", "complete"]
    listed = sdk.Profiles.get_bulk_suppress_profiles_jobs()
    assert name_of(listed) == "GetBulkProfileSuppressionsCreateJobResponseCollection"
    assert is_suppressed(sandbox, "a@example.com")
    body = suppression_body("profile-suppression-bulk-delete-job", "a@example.com")
    undo = sdk.Profiles.bulk_unsuppress_profiles(SuppressionDeleteJobCreateQuery.from_dict(body))
    assert name_of(undo) == "PostBulkProfileSuppressionsRemoveJobResponse"
    sandbox.run_jobs()
    got = sdk.Profiles.get_bulk_unsuppress_profiles_job(undo.data.id)
    assert name_of(got) == "GetBulkProfileSuppressionsRemoveJobResponse"
    assert got.data.attributes.status == "complete"
    assert not is_suppressed(sandbox, "a@example.com")
    undone = sdk.Profiles.get_bulk_unsuppress_profiles_jobs()
    assert name_of(undone) == "GetBulkProfileSuppressionsRemoveJobResponseCollection"
    assert [j.id for j in undone.data] == [undo.data.id]


def test_job_lists_filter_as_the_sdk_documents(sdk, sandbox: Sandbox):
    list_id = make_list(sdk)
    job = import_job(sdk, ["a@example.com"], list_id)
    queued = sdk.Profiles.get_bulk_import_profiles_jobs(filter='equals(status,"queued")')
    assert [j.id for j in queued.data] == [job.data.id]
    sandbox.run_jobs()
    assert sdk.Profiles.get_bulk_import_profiles_jobs(filter='equals(status,"queued")').data == []
    body = suppression_body("profile-suppression-bulk-create-job", "a@example.com")
    body["data"]["relationships"] = {"list": {"data": {"type": "list", "id": list_id}}}
    suppress = sdk.Profiles.bulk_suppress_profiles(SuppressionCreateJobCreateQuery.from_dict(body))
    by_list = sdk.Profiles.get_bulk_suppress_profiles_jobs(filter=f'equals(list_id,"{list_id}")')
    assert [j.id for j in by_list.data] == [suppress.data.id]
    sandbox.run_jobs()
    suppressed = sdk.Profiles.get_profiles(
        filter='equals(subscriptions.email.marketing.suppression.reason,"USER_SUPPRESSED")'
    )
    assert [p.attributes.email for p in suppressed.data] == ["a@example.com"]
