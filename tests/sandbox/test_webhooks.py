"""Webhooks: CRUD and topics through the SDK; signed deliveries verified with our own HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from openapi_client.exceptions import BadRequestException
from openapi_client.models.profile_create_query import ProfileCreateQuery
from openapi_client.models.subscription_create_job_create_query import (
    SubscriptionCreateJobCreateQuery,
)
from openapi_client.models.webhook_create_query import WebhookCreateQuery
from openapi_client.models.webhook_partial_update_query import WebhookPartialUpdateQuery

from klaviyo_kit.sandbox import Sandbox, WebhookDelivery

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "a-very-secret-signing-key"


def name_of(result: object) -> str:
    return type(result).__name__


def expected_signature(secret: str, body: bytes, timestamp: str) -> str:
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers.items()), body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def create_webhook(sdk: Any, url: str, *topics: str) -> Any:
    body = {
        "data": {
            "type": "webhook",
            "attributes": {"name": "Mine", "endpoint_url": url, "secret_key": SECRET},
            "relationships": {
                "webhook-topics": {"data": [{"type": "webhook-topic", "id": t} for t in topics]}
            },
        }
    }
    return sdk.Webhooks.create_webhook(WebhookCreateQuery.from_dict(body))


def test_webhook_crud_and_topics(sdk, sandbox: Sandbox):
    topics = sdk.Webhooks.get_webhook_topics()
    assert name_of(topics) == "GetWebhookTopicResponseCollection"
    ids = [t.id for t in topics.data]
    assert "event:klaviyo.opened_email" in ids
    assert name_of(sdk.Webhooks.get_webhook_topic("event:klaviyo.sent_sms")) == (
        "GetWebhookTopicResponse"
    )
    created = create_webhook(sdk, "https://example.com/hook", "event:klaviyo.opened_email")
    assert name_of(created) == "PostWebhookResponse"
    assert SECRET not in json.dumps(created.to_dict(), default=str)
    hook_id = created.data.id
    body = {"data": {"type": "webhook", "id": hook_id, "attributes": {"enabled": False}}}
    updated = sdk.Webhooks.update_webhook(hook_id, WebhookPartialUpdateQuery.from_dict(body))
    assert name_of(updated) == "PatchWebhookResponse"
    assert updated.data.attributes.enabled is False
    got = sdk.Webhooks.get_webhook(hook_id)
    assert name_of(got) == "GetWebhookResponseCompoundDocument"
    listed = sdk.Webhooks.get_webhooks()
    assert name_of(listed) == "GetWebhookResponseCollectionCompoundDocument"
    assert sdk.Webhooks.delete_webhook(hook_id) is None
    assert sandbox.account.webhooks == {}


def test_webhook_needs_https_and_known_topics(sdk, sandbox: Sandbox):
    with pytest.raises(BadRequestException) as caught:
        create_webhook(sdk, "http://example.com/hook", "event:klaviyo.opened_email")
    assert "/data/attributes/endpoint_url" in (caught.value.body or "")
    with pytest.raises(BadRequestException) as caught:
        create_webhook(sdk, "https://example.com/hook", "event:klaviyo.nope")
    assert "/data/relationships/webhook-topics/data/0/id" in (caught.value.body or "")


def subscribe(sdk: Any, email: str) -> None:
    channel = {"marketing": {"consent": "SUBSCRIBED"}}
    entry = {"type": "profile", "attributes": {"email": email, "subscriptions": {"email": channel}}}
    body = {
        "data": {
            "type": "profile-subscription-bulk-create-job",
            "attributes": {"profiles": {"data": [entry]}},
        }
    }
    sdk.Profiles.bulk_subscribe_profiles(SubscriptionCreateJobCreateQuery.from_dict(body))


def test_subscribing_posts_a_signed_delivery_that_verifies(sdk, sandbox, receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/klaviyo"
    hook = create_webhook(sdk, url, "event:klaviyo.subscribed_to_email_marketing")
    subscribe(sdk, "ada@example.com")
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    signature = expected_signature(SECRET, body, headers["Klaviyo-Timestamp"])
    assert hmac.compare_digest(signature, headers["Klaviyo-Signature"])
    assert headers["Klaviyo-Webhook-Id"] == hook.data.id
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["meta"]["klaviyo_webhook_id"] == hook.data.id
    assert document["meta"]["klaviyo_account_id"] == sandbox.account.id
    item = document["data"][0]
    assert item["topic"] == "event:klaviyo.subscribed_to_email_marketing"
    assert item["payload"]["data"]["type"] == "event"
    assert item["external_id"] == item["payload"]["data"]["id"]
    assert sandbox.deliveries[0].status == 204


def test_simulated_engagement_reaches_a_callable_receiver(sdk, sandbox: Sandbox):
    got: list[WebhookDelivery] = []
    sandbox.add_webhook(got.append, topics=["event:klaviyo.opened_email"], secret_key=SECRET)
    body = {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}}
    profile_id = sdk.Profiles.create_profile(ProfileCreateQuery.from_dict(body)).data.id
    event_id = sandbox.simulate(profile_id, "opened_email", properties={"Subject": "Hi"})
    (delivery,) = got
    signature = expected_signature(SECRET, delivery.body, delivery.headers["Klaviyo-Timestamp"])
    assert signature == delivery.headers["Klaviyo-Signature"]
    payload = delivery.json()["data"]
    assert isinstance(payload, list)
    assert payload[0]["external_id"] == event_id
    assert payload[0]["payload"]["data"]["attributes"]["event_properties"] == {"Subject": "Hi"}
    with pytest.raises(ValueError, match="unknown system topic"):
        sandbox.simulate(profile_id, "danced")


def test_a_failing_receiver_is_recorded_not_raised(sandbox: Sandbox):
    def broken(delivery: WebhookDelivery) -> None:
        raise RuntimeError(delivery.url)

    sandbox.add_webhook(broken, topics=["event:klaviyo.opened_email"], secret_key=SECRET)
    profile = sandbox.handle(
        "POST",
        "/api/profiles",
        headers={"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"},
        body=json.dumps({"data": {"type": "profile", "attributes": {"email": "a@b.co"}}}).encode(),
    )
    profile_id = json.loads(profile.body)["data"]["id"]
    sandbox.simulate(profile_id, "event:klaviyo.opened_email")
    assert sandbox.deliveries[-1].status is None


def test_api_events_reach_event_api_topics_through_a_webhook_transport():
    seen: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    sandbox = Sandbox(seed=2, rate_limits=False, webhook_transport=httpx.MockTransport(endpoint))
    headers = {"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"}
    api = httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=headers)
    event: dict[str, Any] = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"total": 3},
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
            },
        }
    }
    assert api.post("/api/events", json=event).status_code == 202
    topics = [t["id"] for t in api.get("/api/webhook-topics").json()["data"]]
    assert "event:api.placed_order" in topics
    hook = {
        "data": {
            "type": "webhook",
            "attributes": {
                "name": "orders",
                "endpoint_url": "https://hooks.example.com/orders",
                "secret_key": SECRET,
            },
            "relationships": {
                "webhook-topics": {
                    "data": [{"type": "webhook-topic", "id": "event:api.placed_order"}]
                }
            },
        }
    }
    assert api.post("/api/webhooks", json=hook).status_code == 201
    event["data"]["attributes"]["unique_id"] = "order-2"
    assert api.post("/api/events", json=event).status_code == 202
    (request,) = seen
    assert str(request.url) == "https://hooks.example.com/orders"
    body = request.read()
    signature = expected_signature(SECRET, body, request.headers["Klaviyo-Timestamp"])
    assert signature == request.headers["Klaviyo-Signature"]
    assert json.loads(body)["data"][0]["topic"] == "event:api.placed_order"


def test_a_receiver_may_call_the_sandbox_back_before_answering(sandbox: Sandbox):
    headers = {"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"}
    seen: list[int] = []

    def look_up(_delivery: WebhookDelivery) -> None:
        seen.append(sandbox.handle("GET", "/api/profiles", headers=headers).status)

    hook_id = sandbox.add_webhook(look_up, topics=["event:klaviyo.opened_email"], secret_key=SECRET)
    body = {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}}
    made = sandbox.handle("POST", "/api/profiles", headers=headers, body=json.dumps(body).encode())
    sandbox.simulate(json.loads(made.body)["data"]["id"], "opened_email")
    assert seen == [200]
    assert SECRET not in repr(sandbox.account.webhooks[hook_id])


def test_deliveries_pass_the_kits_own_verifier(sandbox: Sandbox):
    from klaviyo_kit.webhooks import WebhookVerifier

    got: list[WebhookDelivery] = []
    hook_id = sandbox.add_webhook(
        got.append, topics=["event:klaviyo.clicked_email"], secret_key=SECRET
    )
    headers = {"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"}
    body = {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}}
    made = sandbox.handle("POST", "/api/profiles", headers=headers, body=json.dumps(body).encode())
    event_id = sandbox.simulate(json.loads(made.body)["data"]["id"], "clicked_email")
    verified = WebhookVerifier(SECRET).verify(got[0].body, got[0].headers)
    assert verified.delivery_id == hook_id
    assert verified.account_id == sandbox.account.id
    assert [(e.topic, e.external_id) for e in verified.events] == [
        ("event:klaviyo.clicked_email", event_id)
    ]
