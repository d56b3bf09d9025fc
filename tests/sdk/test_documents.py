"""The kit's own JSON:API documents: accepted by the SDK's models, sent as the SDK would send."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from openapi_client.api_client import ApiClient
from openapi_client.models.events_bulk_create_job import EventsBulkCreateJob
from openapi_client.models.profile_import_job_create_query import ProfileImportJobCreateQuery

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import BadRequestError, InvalidInputError
from klaviyo_kit.services import Call

KEY = "pk_" + "d0" * 17


class Recorder:
    """Answers like Klaviyo's bulk create (202, no body) and keeps every request."""

    def __init__(self, *statuses: int) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = list(statuses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 202
        if status == 400:
            error = {
                "id": "e1",
                "status": 400,
                "code": "invalid",
                "title": "Invalid input.",
                "detail": "'value' must be a number.",
                "source": {"pointer": "/data/attributes/events-bulk-create/data/0"},
            }
            return httpx.Response(400, json={"errors": [error]})
        return httpx.Response(status)


def client(recorder: Recorder) -> KlaviyoClient:
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    return KlaviyoClient(settings, transport=httpx.MockTransport(recorder), sleep=lambda _: None)


EVENTS: list[dict[str, Any]] = [
    {"metric": "Clicked", "profile": "ada@example.com"},
    {
        "metric": "Placed Order",
        "profile": {"email": "Bob@Example.com", "phone_number": "+15005550006"},
        "properties": {"items": [{"sku": "A", "n": 2}], "note": "ünïcode ✓", "nested": {"x": None}},
        "value": 19.99,
        "value_currency": "EUR",
        "time": datetime(2026, 11, 2, 3, 4, 5, tzinfo=timezone.utc),
        "unique_id": "order-77",
    },
    {"metric": "Clicked", "profile": {"external_id": "crm-9"}, "properties": {"n": 1}},
    {"metric": "Clicked", "profile": "ada@example.com", "properties": {"second": True}},
]


def test_every_bulk_document_the_kit_sends_is_accepted_by_the_sdks_model():
    recorder = Recorder()
    with client(recorder) as kit:
        kit.events.track_many(EVENTS * 300)  # 1,200 events: two requests
    bodies = [json.loads(request.content) for request in recorder.requests]
    dump: Any = ApiClient().sanitize_for_serialization  # how the SDK turns a model into JSON
    assert len(bodies) == 2
    for body in bodies:
        model = EventsBulkCreateJob.from_dict(body)  # the SDK's own validation
        assert model is not None
        # Dumped again as the SDK sends it, it is the same document (nulls and defaults aside).
        assert _without_defaults(dump(model)) == body


def test_a_document_is_sent_as_the_sdk_sends_the_same_body():
    via_kit, via_sdk = Recorder(), Recorder()
    with client(via_kit) as kit:
        kit.events.track_many(EVENTS)
    body = json.loads(via_kit.requests[0].content)
    with client(via_sdk) as kit:
        kit.sdk.events.bulk_create_events(body)  # what the kit sent before: models, then JSON
    mine, theirs = via_kit.requests[0], via_sdk.requests[0]
    assert (mine.method, mine.url) == (theirs.method, theirs.url)
    for header in ("authorization", "revision", "content-type", "accept", "user-agent"):
        assert mine.headers[header] == theirs.headers[header], header
    # The SDK spells out every optional field as null and `backfill` as its default, false.
    assert json.loads(mine.content) == _without_defaults(json.loads(theirs.content))


def _without_defaults(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: v if k == "properties" else _without_defaults(v)  # the caller's values, as given
            for k, v in node.items()
            if v is not None and not (k == "backfill" and v is False)
        }
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


def test_a_document_call_is_retried_on_a_5xx_when_its_events_carry_unique_ids():
    recorder = Recorder(503, 202)
    with client(recorder) as kit:
        kit.events.track_many(EVENTS[:1])
    assert len(recorder.requests) == 2
    assert recorder.requests[0].content == recorder.requests[1].content


def test_klaviyos_refusal_of_a_document_is_the_kits_typed_error_with_its_detail():
    recorder = Recorder(400)
    with client(recorder) as kit, pytest.raises(BadRequestError) as caught:
        kit.events.track_many(EVENTS[:1])
    assert isinstance(caught.value, InvalidInputError) or caught.value.status == 400
    assert "'value' must be a number" in str(caught.value)
    assert len(recorder.requests) == 1  # a 400 is not retried


def test_a_document_call_takes_no_other_arguments():
    with client(Recorder()) as kit, pytest.raises(ValueError, match="no other arguments"):
        kit.execute(Call("events", "bulk_create_events", ({},), document=b"{}"))
    with client(Recorder()) as kit, pytest.raises(ValueError, match="takes 1 parameter"):
        kit.execute(Call("profiles", "get_profile", document=b"{}"))
    with client(Recorder()) as kit, pytest.raises(ValueError, match="takes 1 parameter"):
        kit.execute(Call("profiles", "get_bulk_import_profiles_job", raw=True))


class JobRecorder(Recorder):
    """Answers a job poll like Klaviyo: 200 with the job."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        job = {
            "type": "profile-bulk-import-job",
            "id": "job/1",
            "attributes": {"status": "complete"},
        }
        return httpx.Response(200, json={"data": job})


def test_a_raw_call_sends_what_the_sdk_sends_and_returns_the_json():
    raw, sdk = JobRecorder(), JobRecorder()
    with client(raw) as kit:
        answer = kit.execute(
            Call("profiles", "get_bulk_import_profiles_job", ("job/1 x",), raw=True)
        )
    with client(sdk) as kit:
        kit.sdk.profiles.get_bulk_import_profiles_job("job/1 x")
    assert answer == {"data": JobRecorder()(httpx.Request("GET", "/")).json()["data"]}
    (mine,), (theirs,) = raw.requests, sdk.requests
    assert mine.method == theirs.method == "GET"
    assert mine.url == theirs.url  # the path parameter quoted the same way
    assert "job%2F1%20x" in str(mine.url)
    for header in ("authorization", "revision", "accept", "user-agent"):
        assert mine.headers[header] == theirs.headers[header], header
    assert "content-type" not in mine.headers


def test_polling_an_import_job_loads_none_of_the_sdks_profile_models():
    code = """
import sys
from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.sandbox import Sandbox
sandbox = Sandbox(seed=1, rate_limits=False)
settings = KlaviyoSettings(private_key="pk_" + "a" * 34, rate_limit={"enabled": False})
with KlaviyoClient(settings, transport=sandbox.transport(), sleep=lambda _: None) as client:
    report = client.profiles.bulk_import([{"email": "a@example.com"}], poll_interval=0.01)
assert report.finished and report.completed == 1, report
print("openapi_client.api.profiles_api" in sys.modules)
"""
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": ""},
        check=True,
    )
    assert out.stdout.strip() == "False", out.stderr


class ImportRecorder(Recorder):
    """Answers a bulk import like Klaviyo: 202 with the job."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        job = {"type": "profile-bulk-import-job", "id": f"job-{len(self.requests)}"}
        return httpx.Response(202, json={"data": {**job, "attributes": {"status": "queued"}}})


def test_every_import_document_the_kit_sends_is_accepted_by_the_sdks_model():
    rows: list[dict[str, Any]] = [
        {
            "email": f"p{i}@example.com",
            "first_name": "Zoë",
            "phone_number": "+15005550006" if i % 2 else None,
            "external_id": f"crm-{i}",
            "properties": {"plan": "pro", "seats": i, "tags": ["a", "b"]},
            "location": {"city": "Lyon", "country": "France"},
        }
        for i in range(12_000)  # two jobs
    ]
    recorder = ImportRecorder()
    with client(recorder) as kit:
        kit.profiles.bulk_import(rows, list_id="Lst123", wait=False)
    bodies = [json.loads(request.content) for request in recorder.requests]
    assert len(bodies) == 2
    dump: Any = ApiClient().sanitize_for_serialization
    for body in bodies:
        model = ProfileImportJobCreateQuery.from_dict(body)
        assert model is not None
        assert _without_defaults(dump(model)) == body
    assert bodies[0]["data"]["relationships"]["lists"]["data"] == [{"type": "list", "id": "Lst123"}]
