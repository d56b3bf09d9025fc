"""The official SDK drives accounts, events, metrics and aggregates against a served sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_client.exceptions import BadRequestException
from openapi_client.models.event_create_query_v2 import EventCreateQueryV2
from openapi_client.models.events_bulk_create_job import EventsBulkCreateJob
from openapi_client.models.get_account_response import GetAccountResponse
from openapi_client.models.get_account_response_collection import GetAccountResponseCollection
from openapi_client.models.get_event_response_collection_compound_document import (
    GetEventResponseCollectionCompoundDocument,
)
from openapi_client.models.get_event_response_compound_document import (
    GetEventResponseCompoundDocument,
)
from openapi_client.models.metric_aggregate_query import MetricAggregateQuery
from openapi_client.models.post_metric_aggregate_response import PostMetricAggregateResponse


def event_body(email: str, metric: str, **attributes: Any) -> dict[str, Any]:
    return {
        "type": "event",
        "attributes": {
            "properties": attributes.pop("properties", {"item": "book"}),
            "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
            **attributes,
        },
    }


def track(sdk: Any, email: str, metric: str = "Placed Order", **attributes: Any) -> None:
    query = EventCreateQueryV2.from_dict({"data": event_body(email, metric, **attributes)})
    assert sdk.Events.create_event(query) is None


def test_get_accounts_and_account(sdk, sandbox):
    accounts = sdk.Accounts.get_accounts()
    assert isinstance(accounts, GetAccountResponseCollection)
    account = sdk.Accounts.get_account(accounts.data[0].id)
    assert isinstance(account, GetAccountResponse)
    assert account.data.id == sandbox.account.id


def test_create_event_creates_profile_and_metric(sdk, sandbox):
    track(sdk, "ada@example.com", value=12.5, time="2026-01-02T03:04:05Z")
    assert len(sandbox.account.profiles) == 1
    assert [m.attributes["name"] for m in sandbox.account.metrics.values()] == ["Placed Order"]


def test_create_event_dedupes_unique_id_per_profile_and_metric(sdk, sandbox):
    track(sdk, "ada@example.com", unique_id="order-1")
    track(sdk, "ada@example.com", unique_id="order-1")
    track(sdk, "bob@example.com", unique_id="order-1")
    track(sdk, "ada@example.com", "Refunded Order", unique_id="order-1")
    assert len(sandbox.account.events) == 3


def test_create_event_without_metric_name_points_at_it(sdk):
    body = event_body("ada@example.com", "x")
    body["attributes"]["metric"]["data"]["attributes"]["name"] = ""
    with pytest.raises(BadRequestException) as caught:
        sdk.Events.create_event(EventCreateQueryV2.from_dict({"data": body}))
    error = json.loads(caught.value.body or "")["errors"][0]
    assert error["source"]["pointer"] == "/data/attributes/metric/data/attributes/name"


def test_bulk_create_events(sdk, sandbox):
    entry = {
        "type": "event-bulk-create",
        "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}},
            "events": {
                "data": [
                    {
                        "type": "event",
                        "attributes": {
                            "properties": {"n": n},
                            "metric": {
                                "data": {"type": "metric", "attributes": {"name": "Viewed"}}
                            },
                        },
                    }
                    for n in range(3)
                ]
            },
        },
    }
    job = EventsBulkCreateJob.from_dict(
        {
            "data": {
                "type": "event-bulk-create-job",
                "attributes": {"events-bulk-create": {"data": [entry]}},
            }
        }
    )
    assert sdk.Events.bulk_create_events(job) is None
    assert len(sandbox.account.events) == 3


def test_get_events_filters_by_metric_and_sorts(sdk):
    track(sdk, "ada@example.com", "Placed Order", time="2026-01-01T00:00:00Z")
    track(sdk, "ada@example.com", "Placed Order", time="2026-01-03T00:00:00Z")
    track(sdk, "ada@example.com", "Viewed", time="2026-01-02T00:00:00Z")
    metrics = sdk.Metrics.get_metrics()
    placed = next(m.id for m in metrics.data if m.attributes.name == "Placed Order")
    result = sdk.Events.get_events(filter=f'equals(metric_id,"{placed}")', sort="-datetime")
    assert isinstance(result, GetEventResponseCollectionCompoundDocument)
    assert [e.attributes.timestamp for e in result.data] == [1767398400, 1767225600]
    since = sdk.Events.get_events(filter="greater-than(datetime,2026-01-01T12:00:00Z)")
    assert len(since.data) == 2


def test_get_event(sdk):
    track(sdk, "ada@example.com", properties={"sku": "A1"})
    listed = sdk.Events.get_events()
    result = sdk.Events.get_event(listed.data[0].id)
    assert isinstance(result, GetEventResponseCompoundDocument)
    assert result.data.attributes.event_properties == {"sku": "A1"}


def test_get_metrics_and_metric(sdk):
    track(sdk, "ada@example.com")
    metrics = sdk.Metrics.get_metrics(filter='equals(integration.name,"API")')
    assert type(metrics).__name__ == "GetMetricResponseCollectionCompoundDocument"
    metric = sdk.Metrics.get_metric(metrics.data[0].id)
    assert type(metric).__name__ == "GetMetricResponseCompoundDocument"
    assert metric.data.attributes.name == "Placed Order"


def test_query_metric_aggregates(sdk):
    for day, value in [(1, 10.0), (1, 5.0), (3, 7.0)]:
        track(sdk, f"p{value}@example.com", value=value, time=f"2026-01-0{day}T10:00:00Z")
    metric_id = sdk.Metrics.get_metrics().data[0].id
    query = MetricAggregateQuery.from_dict(
        {
            "data": {
                "type": "metric-aggregate",
                "attributes": {
                    "metric_id": metric_id,
                    "measurements": ["count", "sum_value", "unique"],
                    "interval": "day",
                    "filter": [
                        "greater-or-equal(datetime,2026-01-01T00:00:00)",
                        "less-than(datetime,2026-01-04T00:00:00)",
                    ],
                },
            }
        }
    )
    result = sdk.Metrics.query_metric_aggregates(query)
    assert isinstance(result, PostMetricAggregateResponse)
    assert len(result.data.attributes.dates) == 3
    row = result.data.attributes.data[0]
    assert row.measurements == {
        "count": [2.0, 0.0, 1.0],
        "sum_value": [15.0, 0.0, 7.0],
        "unique": [2.0, 0.0, 1.0],
    }


def test_events_include_their_metric_and_profile(sdk):
    track(sdk, "ada@example.com")
    result = sdk.Events.get_events(include=["metric", "profile"])
    kinds = sorted(item["type"] for item in result.included or [])
    assert kinds == ["metric", "profile"]
    single = sdk.Events.get_event(result.data[0].id, include=["profile"])
    assert [item["type"] for item in single.included or []] == ["profile"]


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"time": "1999-12-31T23:59:59Z"}, "/data/attributes/time"),
        ({"time": "2999-01-01T00:00:00Z"}, "/data/attributes/time"),
        ({"properties": {f"p{n}": n for n in range(301)}}, "/data/attributes/properties"),
    ],
)
def test_event_limits_point_at_the_field(sdk, attributes, pointer):
    query = EventCreateQueryV2.from_dict({"data": event_body("a@example.com", "M", **attributes)})
    with pytest.raises(BadRequestException) as caught:
        sdk.Events.create_event(query)
    assert json.loads(caught.value.body or "")["errors"][0]["source"]["pointer"] == pointer


def test_an_events_profile_and_metric(sdk):
    track(sdk, "ada@example.com", "Viewed")
    event_id = sdk.Events.get_events().data[0].id
    metric = sdk.Events.get_metric_for_event(event_id)
    assert name_of(metric) == "GetMetricResponse"
    assert metric.data.attributes.name == "Viewed"
    profile = sdk.Events.get_profile_for_event(event_id)
    assert name_of(profile) == "GetProfileResponse"
    assert profile.data.attributes.email == "ada@example.com"
    assert sdk.Events.get_metric_id_for_event(event_id).data.id == metric.data.id
    assert sdk.Events.get_profile_id_for_event(event_id).data.id == profile.data.id


def name_of(result: object) -> str:
    return type(result).__name__
