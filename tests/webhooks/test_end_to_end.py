"""The sandbox POSTs real signed deliveries to the ASGI app under uvicorn on loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.webhooks import WebhookASGIApp, WebhookReceiver, WebhookRouter, WebhookVerifier
from klaviyo_kit.webhooks.handlers import (
    Channel,
    EngagementKind,
    SQLWebhookRepository,
    register_default_handlers,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "sandbox-webhook-secret"
KEY = "pk_" + "e" * 34
TOPICS = [
    "event:klaviyo.subscribed_to_email_marketing",
    "event:klaviyo.unsubscribed_from_email_marketing",
    "event:klaviyo.opened_email",
    "event:klaviyo.clicked_email",
]


@pytest.fixture
def local(tmp_path) -> Iterator[tuple[WebhookReceiver, SQLWebhookRepository]]:
    store = SQLStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    router = WebhookRouter(store)
    repository = SQLWebhookRepository.from_store(store)
    register_default_handlers(router, repository)
    yield WebhookReceiver(WebhookVerifier(SECRET), router), repository
    store.close()


def call(api: httpx.Client, path: str, document: dict[str, object]) -> httpx.Response:
    response = api.post(path, json=document)
    assert response.status_code in {201, 202}, response.text
    return response


def test_sandbox_deliveries_update_local_state_end_to_end(local, serve):
    receiver, repository = local
    sandbox = Sandbox(seed=7, rate_limits=False)
    headers = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-10-15"}
    with (
        serve(WebhookASGIApp(receiver)) as url,
        httpx.Client(
            transport=sandbox.transport(), base_url="http://sandbox", headers=headers
        ) as api,
    ):
        sandbox.add_webhook(f"{url}/webhooks/klaviyo", topics=TOPICS, secret_key=SECRET)
        created = call(
            api,
            "/api/profiles",
            {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}},
        )
        profile_id = created.json()["data"]["id"]
        call(
            api,
            "/api/profile-subscription-bulk-create-jobs",
            {
                "data": {
                    "type": "profile-subscription-bulk-create-job",
                    "attributes": {
                        "profiles": {
                            "data": [
                                {
                                    "type": "profile",
                                    "attributes": {
                                        "email": "ada@example.com",
                                        "subscriptions": {
                                            "email": {"marketing": {"consent": "SUBSCRIBED"}}
                                        },
                                    },
                                }
                            ]
                        }
                    },
                }
            },
        )
        sandbox.simulate(profile_id, "opened_email")
        sandbox.simulate(profile_id, "opened_email")
        sandbox.simulate(profile_id, "clicked_email")
        deliveries = sandbox.deliveries
        # A replay of a real delivery is acknowledged and not processed again.
        replay = httpx.post(
            deliveries[-1].url, content=deliveries[-1].body, headers=dict(deliveries[-1].headers)
        )

    assert [d.status for d in deliveries] == [204, 204, 204, 204]
    assert [d.topics[0] for d in deliveries] == [TOPICS[0], TOPICS[2], TOPICS[2], TOPICS[3]]
    assert replay.status_code == 200
    assert replay.json() == {"result": "duplicate"}
    state = repository.get_channel_state(profile_id, Channel.EMAIL)
    assert state is not None
    assert state.subscribed is True
    engagement = repository.get_engagement(profile_id)
    assert engagement.counts == {EngagementKind.OPENED: 2, EngagementKind.CLICKED: 1}
