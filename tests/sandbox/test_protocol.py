"""Klaviyo's protocol edges through the in-process transport: paths, methods, headers, bodies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from klaviyo_kit.sandbox import Sandbox

KEY = "pk_" + "x" * 34
HEADERS = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-10-15"}


@pytest.fixture
def client() -> httpx.Client:
    sandbox = Sandbox(seed=1)
    return httpx.Client(transport=sandbox.transport(), base_url="http://sandbox", headers=HEADERS)


def first_error(response: httpx.Response) -> dict[str, object]:
    errors = response.json()["errors"]
    assert isinstance(errors, list)
    error = errors[0]
    assert isinstance(error, dict)
    return error


def test_unknown_path_is_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert first_error(response)["code"] == "not_found"


def test_wrong_method_is_405_with_allow(client):
    response = client.put("/api/profiles")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def test_missing_authorization_is_401(client):
    response = client.get("/api/profiles", headers={"Authorization": ""})
    assert response.status_code == 401
    assert first_error(response)["code"] == "not_authenticated"


def test_malformed_key_is_401(client):
    response = client.get("/api/profiles", headers={"Authorization": "Klaviyo-API-Key nope"})
    assert response.status_code == 401
    assert first_error(response)["code"] == "authentication_failed"


def test_configured_key_rejects_other_keys():
    sandbox = Sandbox(api_key="pk_" + "a" * 34)
    client = httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS)
    assert client.get("/api/accounts").status_code == 401
    ok = client.get("/api/accounts", headers={"Authorization": "Klaviyo-API-Key pk_" + "a" * 34})
    assert ok.status_code == 200


def test_missing_revision_is_400(client):
    response = client.get("/api/profiles", headers={"revision": ""})
    assert response.status_code == 400
    assert first_error(response)["source"] == {"parameter": "revision"}


def test_bad_json_is_400(client):
    response = client.post("/api/profiles", content=b"{nope")
    assert response.status_code == 400
    assert first_error(response)["source"] == {"pointer": "/"}


def test_wrong_type_is_409_pointing_at_type(client):
    response = client.post("/api/profiles", json={"data": {"type": "list", "attributes": {}}})
    assert response.status_code == 409
    assert first_error(response)["source"] == {"pointer": "/data/type"}


def test_known_but_unmodelled_operation_is_501(client):
    response = client.get("/api/flows")
    assert response.status_code == 501
    assert "get_flows" in str(first_error(response)["detail"])


def test_bad_cursor_and_page_size_are_400(client):
    assert client.get("/api/profiles", params={"page[cursor]": "zzz"}).status_code == 400
    response = client.get("/api/profiles", params={"page[size]": "101"})
    assert first_error(response)["source"] == {"parameter": "page[size]"}


def test_responses_are_json_api(client):
    response = client.get("/api/profiles")
    assert response.headers["Content-Type"] == "application/vnd.api+json"
    assert response.json()["links"]["self"] == "http://sandbox/api/profiles"


def test_a_handler_failure_is_a_500_not_a_crash():
    sandbox = Sandbox(seed=1, rate_limits=False)
    client = httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS)
    event = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {},
                "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
            },
        }
    }
    assert client.post("/api/events", json=event).status_code == 202
    sandbox.account.metrics.clear()  # break the account's integrity on purpose
    response = client.get("/api/events", params={"include": "metric"})
    assert response.status_code == 500
    assert first_error(response)["code"] == "error"


def test_concurrent_clients_over_http_see_consistent_state():
    sandbox = Sandbox(seed=1, rate_limits=False)
    with sandbox.serve() as server:

        def create(worker: int) -> list[int]:
            with httpx.Client(base_url=server.url, headers=HEADERS) as client:
                return [
                    client.post(
                        "/api/profiles",
                        json={
                            "data": {
                                "type": "profile",
                                "attributes": {"email": f"w{worker}-{n}@example.com"},
                            }
                        },
                    ).status_code
                    for n in range(25)
                ]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = [s for batch in pool.map(create, range(8)) for s in batch]
    assert statuses == [201] * 200
    assert len(sandbox.account.profiles) == 200
    assert len(sandbox.account.profile_index) == 200
