"""A success status with a body that is no JSON:API document is one error, raised once, not retried.

respx plays Klaviyo (or a proxy answering in its place). Retries are on (five attempts, no
waiting), so each test also shows that a malformed answer is not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from openapi_client.exceptions import ApiException

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import APIError, KlaviyoError, MalformedResponseError
from klaviyo_kit.operations import operation
from klaviyo_kit.resilience import RetryPolicy
from klaviyo_kit.sdk import OperationCall, translate_errors
from klaviyo_kit.sdk._context import bind_call

KEY = "pk_" + "d4" * 17
BASE = "https://a.klaviyo.com"
REQUEST_ID = "8b1f3c2e-0d4a-4f7e-9a51-5f0c2b6d7e80"
HTML = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><p>Checking your browser before accessing klaviyo.com.</p></body></html>"
)

PROFILE = {"type": "profile", "id": "01P", "attributes": {"email": "ada@example.com"}}
LIST = {"type": "list", "id": "L1", "attributes": {"name": "VIP"}}
JOB = {"type": "profile-bulk-import-job", "id": "J1", "attributes": {"status": "queued"}}


def settings() -> KlaviyoSettings:
    return KlaviyoSettings(private_key=KEY, retry={"attempts": 5}, rate_limit={"enabled": False})


@pytest.fixture
def client() -> Iterator[KlaviyoClient]:
    with KlaviyoClient(settings(), sleep=lambda _: None) as c:
        yield c


@dataclass(frozen=True)
class Case:
    """One operation: how to call it, the route it hits, and the status of its success answer."""

    name: str
    method: str
    path: str
    status: int
    call: Callable[[KlaviyoClient], object]


CASES = [
    Case(
        "get_profile", "GET", "/api/profiles/01P", 200, lambda c: c.sdk.profiles.get_profile("01P")
    ),
    Case("get_profile", "GET", "/api/profiles/01P", 200, lambda c: c.profiles.get("01P")),
    Case("get_profiles", "GET", "/api/profiles", 200, lambda c: list(c.profiles.iter())),
    Case("get_lists", "GET", "/api/lists", 200, lambda c: c.sdk.lists.get_lists()),
    Case("create_list", "POST", "/api/lists", 201, lambda c: c.lists.create("VIP")),
    Case(
        "bulk_import_profiles",
        "POST",
        "/api/profile-bulk-import-jobs",
        202,
        lambda c: c.profiles.bulk_import([{"email": "ada@example.com"}], wait=False),
    ),
    Case(
        "get_bulk_import_profiles_job",
        "GET",
        "/api/profile-bulk-import-jobs/J1",
        200,
        lambda c: c.sdk.profiles.get_bulk_import_profiles_job("J1"),
    ),
]

BODIES: dict[str, tuple[bytes, str, str]] = {
    # name: (body, content type, what the message says)
    "html": (HTML.encode(), "text/html; charset=UTF-8", "not JSON: <!DOCTYPE html>"),
    "invalid json": (b'{"data": [{"type": "profile", "id"', "application/vnd.api+json", "not JSON"),
    "empty object": (b"{}", "application/vnd.api+json", "without `data`"),
    "data is a string": (b'{"data": "x"}', "application/vnd.api+json", "`data` that is a string"),
}


def answer(status: int, body: bytes, content_type: str) -> httpx.Response:
    headers = {"content-type": content_type, "request-id": REQUEST_ID}
    return httpx.Response(status, content=body, headers=headers)


@pytest.mark.parametrize("body_name", list(BODIES))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}-{c.method}-{c.status}")
@respx.mock
def test_a_malformed_success_answer_is_one_malformed_response_error(client, case, body_name):
    body, content_type, said = BODIES[body_name]
    route = respx.route(method=case.method, url=f"{BASE}{case.path}").mock(
        return_value=answer(case.status, body, content_type)
    )
    with pytest.raises(MalformedResponseError) as info:
        case.call(client)
    err = info.value
    assert isinstance(err, APIError)
    assert err.operation == case.name
    assert err.status == case.status
    assert err.request_id == REQUEST_ID
    assert not err.retryable
    assert said in str(err)
    assert err.body == body.decode()
    assert route.call_count == 1  # not retried: a write may have been applied


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[1, 2]", "an array, not a JSON:API document"),
        (b"null", "null, not a JSON:API document"),
        (b"", "an empty body"),
        (b"\xff\xfe<html>", "not JSON"),
        (b'{"data": ["01P"]}', "`data` that is an array"),
        (b'{"data": [], "included": {"x": 1}}', "`included` that is an object"),
        (b'{"data": [], "links": "next"}', "`links` that is a string"),
        (b'{"data": [], "meta": []}', "`meta` that is an array"),
        (b'{"errors": [{"detail": "x"}]}', "without `data` (members: errors)"),
    ],
)
@respx.mock
def test_every_shape_short_of_a_document_is_malformed(client, body, said):
    route = respx.get(f"{BASE}/api/profiles").mock(
        return_value=answer(200, body, "application/vnd.api+json")
    )
    with pytest.raises(MalformedResponseError, match="get_profiles") as info:
        client.sdk.profiles.get_profiles()
    assert said in str(info.value)
    assert route.call_count == 1


@respx.mock
def test_a_bad_second_page_fails_the_listing_without_a_retry(client):
    first = {"data": [PROFILE], "links": {"next": f"{BASE}/api/profiles?page%5Bcursor%5D=c2"}}
    route = respx.get(f"{BASE}/api/profiles").mock(
        side_effect=[
            httpx.Response(200, json=first),
            answer(200, HTML.encode(), "text/html"),
        ]
    )
    profiles = client.profiles.iter()
    assert next(profiles).id == "01P"
    with pytest.raises(MalformedResponseError) as info:
        next(profiles)
    assert info.value.operation == "get_profiles"
    assert route.call_count == 2


@respx.mock
def test_a_cloudflare_page_with_status_200_carries_the_cf_ray(client):
    respx.get(f"{BASE}/api/profiles/01P").mock(
        return_value=httpx.Response(
            200, text=HTML, headers={"content-type": "text/html", "cf-ray": "8a1b2c3d4e5f-AMS"}
        )
    )
    with pytest.raises(MalformedResponseError) as info:
        client.profiles.get("01P")
    assert info.value.request_id == "8a1b2c3d4e5f-AMS"
    assert "(request 8a1b2c3d4e5f-AMS)" in str(info.value)


@respx.mock
def test_the_message_is_one_short_line_without_keys_however_big_the_page(client):
    page = f"<html>\n<body>\n{KEY} Authorization: Klaviyo-API-Key {KEY}\n" + "x" * 500_000
    respx.get(f"{BASE}/api/profiles/01P").mock(return_value=answer(200, page.encode(), "text/html"))
    with pytest.raises(MalformedResponseError) as info:
        client.profiles.get("01P")
    message = str(info.value)
    assert "\n" not in message
    assert len(message) < 300
    assert KEY not in message
    assert "(request " + REQUEST_ID + ")" in message
    assert info.value.body == page  # the whole text stays on the error, not in its message


@respx.mock
def test_json_bodies_are_described_never_quoted(client):
    body = b'{"dat": {"type": "profile", "attributes": {"email": "ada@example.com"}}}'
    respx.get(f"{BASE}/api/profiles/01P").mock(
        return_value=answer(200, body, "application/vnd.api+json")
    )
    with pytest.raises(MalformedResponseError) as info:
        client.profiles.get("01P")
    assert "ada@example.com" not in str(info.value)
    assert "members: dat" in str(info.value)


@respx.mock
def test_legitimately_empty_answers_keep_working(client):
    events = respx.post(f"{BASE}/api/events").mock(return_value=httpx.Response(202))
    members = respx.post(f"{BASE}/api/lists/L1/relationships/profiles").mock(
        return_value=httpx.Response(204)
    )
    respx.post(f"{BASE}/api/profile-subscription-bulk-create-jobs").mock(
        return_value=httpx.Response(202, content=b"")
    )
    tracked = client.events.track("Viewed Product", "ada@example.com")
    assert tracked.unique_id
    assert client.lists.add_profiles("L1", ["01P"]).requests == 1
    assert client.sdk.profiles.subscribe_profiles({"data": _subscription()}) is None
    assert events.call_count == 1
    assert members.call_count == 1


def _subscription() -> dict[str, Any]:
    return {
        "type": "profile-subscription-bulk-create-job",
        "attributes": {
            "profiles": {
                "data": [
                    {
                        "type": "profile",
                        "attributes": {
                            "email": "ada@example.com",
                            "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}},
                        },
                    }
                ]
            }
        },
        "relationships": {"list": {"data": {"type": "list", "id": "L1"}}},
    }


@respx.mock
def test_well_formed_answers_pass_unchanged(client):
    respx.get(f"{BASE}/api/profiles/01P").mock(
        return_value=httpx.Response(200, json={"data": PROFILE, "links": {"self": "x"}})
    )
    respx.post(f"{BASE}/api/lists").mock(return_value=httpx.Response(201, json={"data": LIST}))
    respx.post(f"{BASE}/api/profile-bulk-import-jobs").mock(
        return_value=httpx.Response(202, json={"data": JOB})
    )
    assert client.profiles.get("01P").email == "ada@example.com"
    assert client.lists.create("VIP").id == "L1"
    assert client.profiles.bulk_import([{"email": "ada@example.com"}], wait=False).job_ids == ["J1"]


@respx.mock
def test_the_http_info_variant_is_checked_and_the_raw_variant_left_to_the_caller(client):
    route = respx.get(f"{BASE}/api/profiles").mock(
        side_effect=[
            httpx.Response(200, json={"data": [PROFILE]}),
            answer(200, b"{}", "application/vnd.api+json"),
            answer(200, HTML.encode(), "text/html"),
            answer(200, HTML.encode(), "text/html"),
        ]
    )
    assert client.sdk.profiles.get_profiles_with_http_info().data == {"data": [PROFILE]}
    with pytest.raises(MalformedResponseError, match="without `data`"):
        client.sdk.profiles.get_profiles_with_http_info()
    with pytest.raises(MalformedResponseError, match="not JSON"):
        client.sdk.profiles.get_profiles_with_http_info()
    raw = client.sdk.profiles.get_profiles_without_preload_content()
    assert raw.read() == HTML.encode()  # undecoded, as asked: the caller reads it
    assert route.call_count == 4


@respx.mock
def test_null_data_of_an_empty_to_one_relationship_is_not_malformed(client):
    # With sparse fieldsets too: should the SDK start dropping nulls there (it has an
    # ``exclude_none`` it does not yet pass on), ``data`` would vanish and this test says so.
    respx.get(f"{BASE}/api/events/E1/metric").mock(
        return_value=httpx.Response(200, json={"data": None, "links": {"self": "x"}})
    )
    for fields in (None, ["name"]):
        result = client.sdk.events.get_metric_for_event("E1", fields_metric=fields)
        assert result == {"data": None, "links": {"self": "x"}}


@pytest.mark.anyio
@pytest.mark.parametrize("body_name", list(BODIES))
@respx.mock
async def test_the_async_client_raises_the_same_error(body_name):
    body, content_type, said = BODIES[body_name]
    route = respx.post(f"{BASE}/api/lists").mock(return_value=answer(201, body, content_type))

    async def no_sleep(_: float) -> None:
        return None

    async with AsyncKlaviyoClient(settings(), sleep=no_sleep) as aclient:
        with pytest.raises(MalformedResponseError) as info:
            await aclient.lists.create("VIP")
    assert (info.value.operation, info.value.status) == ("create_list", 201)
    assert info.value.request_id == REQUEST_ID
    assert said in str(info.value)
    assert route.call_count == 1


def test_the_retry_policy_never_retries_it():
    err = MalformedResponseError(200, operation="get_profiles")
    assert not RetryPolicy().should_retry(err, operation("get_profiles"))


def test_an_sdk_parse_failure_after_a_success_answer_is_malformed():
    # ApiException(status=0) raised while reading a 200 answer: Klaviyo's answer, not our request.
    call = OperationCall(operation=operation("get_profile"))
    call.record_response(200, {"request-id": REQUEST_ID}, b'{"data": {"type": "profile"}}')
    with (
        pytest.raises(MalformedResponseError) as info,
        bind_call(call),
        translate_errors("get_profile"),
    ):
        raise ApiException(status=0, reason="Failed to parse `x` as datetime object")
    assert info.value.status == 200
    assert info.value.request_id == REQUEST_ID
    assert "could not read (ApiException)" in str(info.value)
    assert isinstance(info.value.__cause__, ApiException)


def test_without_a_success_answer_sdk_failures_stay_as_they_were():
    call = OperationCall(operation=operation("get_profile"))
    call.record_response(404, {}, b"")
    with pytest.raises(RuntimeError), bind_call(call), translate_errors("get_profile"):
        raise RuntimeError
    with pytest.raises(KlaviyoError) as info, translate_errors("get_profile"):
        raise ApiException(status=0, reason="Cannot prepare a request message")
    assert type(info.value) is KlaviyoError


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
