"""client.campaigns against the sandbox, sync and async: create, template, send, wait, cancel."""

from __future__ import annotations

import json

import httpx
import pytest

from klaviyo_kit.errors import InvalidInputError, NotFoundError
from klaviyo_kit.services import CampaignSendError, CampaignSendTimeoutError, EmailContent

pytestmark = pytest.mark.anyio

KEY = "pk_" + "f6" * 17
CONTENT = EmailContent(
    subject='Ada\'s "big" sale', from_email="shop@example.com", from_label="Shop"
)


def make_template(sandbox) -> str:
    body = {
        "data": {
            "type": "template",
            "attributes": {"name": "Sale", "editor_type": "CODE", "html": "<p>Hi</p>"},
        }
    }
    headers = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-10-15"}
    response = sandbox.handle("POST", "/api/templates", "", headers, json.dumps(body).encode())
    assert response.status == 201
    return str(json.loads(response.body)["data"]["id"])


async def audience(kit, *emails: str) -> str:
    target = await kit(kit.client.lists.create("Audience"))
    await kit(kit.client.lists.subscribe(list(emails), list_id=target.id))
    return str(target.id)


async def ready_campaign(kit, *emails: str) -> str:
    list_id = await audience(kit, *emails)
    campaign = await kit(kit.client.campaigns.create("Sale", audiences=[list_id], content=CONTENT))
    await kit(kit.client.campaigns.assign_template(campaign.id, make_template(kit.sandbox)))
    return str(campaign.id)


async def test_create_with_audiences_and_content(kit):
    included = await audience(kit, "a@example.com")
    excluded = await audience(kit, "b@example.com")
    campaign = await kit(
        kit.client.campaigns.create(
            "Spring", audiences=[included, included], excluded=[excluded], content=CONTENT
        )
    )
    assert campaign.id
    [message_id] = campaign.relationships["campaign-messages"]
    message = kit.sandbox.account.messages[message_id]
    assert message.extra["channel"] == "email"
    assert message.extra["content"] == {
        "subject": 'Ada\'s "big" sale',
        "from_email": "shop@example.com",
        "from_label": "Shop",
    }
    [audience_id] = campaign.relationships["campaign-audiences"]
    definition = kit.sandbox.account.audiences[audience_id].attributes["definition"]
    assert (definition["included"], definition["excluded"]) == ([included], [excluded])
    got = await kit(kit.client.campaigns.get(campaign.id))
    assert got.id == campaign.id
    assert got.name == "Spring"
    assert got.definition is not None


async def test_iter_walks_every_page(kit):
    list_id = await audience(kit, "a@example.com")
    ids = [
        (await kit(kit.client.campaigns.create(f"C{i}", audiences=[list_id]))).id for i in range(5)
    ]
    got = await kit.collect(kit.client.campaigns.iter(page_size=2))
    assert [c.id for c in got] == ids
    assert kit.count("GET", "/api/campaigns") == 3


async def test_get_missing_campaign_is_not_found(kit):
    with pytest.raises(NotFoundError):
        await kit(kit.client.campaigns.get("01NOPE"))


async def test_send_and_wait_until_sent(kit):
    campaign_id = await ready_campaign(kit, "a@example.com", "b@example.com")
    job = await kit(kit.client.campaigns.send(campaign_id))
    assert (job.id, job.status) == (campaign_id, "queued")
    done = await kit(kit.client.campaigns.wait_until_sent(campaign_id))
    assert done.status == "complete"
    assert kit.sleeps == [1.0]  # queued -> processing (wait 1 s) -> complete
    assert kit.sandbox.account.send_jobs[campaign_id].extra["recipients"] == 2
    status = await kit(kit.client.campaigns.send_status(campaign_id))
    assert status.status == "complete"


async def test_wait_gives_up_at_the_deadline_naming_campaign_and_status(kit):
    campaign_id = await ready_campaign(kit, "a@example.com")
    await kit(kit.client.campaigns.send(campaign_id))
    with pytest.raises(CampaignSendTimeoutError) as info:
        await kit(kit.client.campaigns.wait_until_sent(campaign_id, timeout=0))
    assert isinstance(info.value, TimeoutError)
    assert info.value.campaign_id == campaign_id
    assert info.value.status == "processing"
    assert campaign_id in str(info.value)
    assert "'processing'" in str(info.value)
    assert kit.sleeps == []


async def test_cancel_stops_the_send(kit):
    campaign_id = await ready_campaign(kit, "a@example.com")
    await kit(kit.client.campaigns.send(campaign_id))
    assert await kit(kit.client.campaigns.cancel(campaign_id)) is None
    with pytest.raises(CampaignSendError) as info:
        await kit(kit.client.campaigns.wait_until_sent(campaign_id))
    assert not isinstance(info.value, TimeoutError)
    assert info.value.status == "cancelled"
    assert "cancelled" in str(info.value)
    assert "recipients" not in kit.sandbox.account.send_jobs[campaign_id].extra


async def test_assign_template_returns_the_message(kit):
    list_id = await audience(kit, "a@example.com")
    campaign = await kit(kit.client.campaigns.create("T", audiences=[list_id]))
    template_id = make_template(kit.sandbox)
    message_id = await kit(kit.client.campaigns.assign_template(campaign.id, template_id))
    assert message_id == campaign.relationships["campaign-messages"][0]
    assert kit.sandbox.account.messages[message_id].extra["template"] == template_id


class Variations(httpx.BaseTransport):
    """Answers the campaign-variation writes the sandbox lacks; the rest goes to the sandbox."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, object]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/campaign-variations":
            body = json.loads(request.read())
            self.bodies.append(body)
            data = {**body["data"], "id": "VAR001"}
            return httpx.Response(201, json={"data": data}, request=request)
        return self.inner.handle_request(request)


async def test_set_content_creates_the_default_variation(make_kit, sandbox):
    kit = make_kit(sandbox, wrap=Variations)
    list_id = await audience(kit, "a@example.com")
    campaign = await kit(kit.client.campaigns.create("Later", audiences=[list_id]))
    variation = await kit(
        kit.client.campaigns.set_content(campaign.id, {"subject": "Hello", "preview_text": "Hi"})
    )
    assert variation == "VAR001"
    variations = kit.recorder.inner
    assert isinstance(variations, Variations)
    [body] = variations.bodies
    assert body["data"] == {
        "type": "campaign-variation",
        "attributes": {
            "definition": {
                "name": "default",
                "details": {"channel": "email", "subject": "Hello", "preview_text": "Hi"},
            }
        },
        "relationships": {
            "campaign-message": {
                "data": {
                    "type": "campaign-message",
                    "id": campaign.relationships["campaign-messages"][0],
                }
            }
        },
    }


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.create(" ", audiences=["L1"]), "name"),
        (lambda c: c.create("x", audiences=[]), "audiences"),
        (lambda c: c.create("x", audiences=["L1", ""]), "audiences[1]"),
        (lambda c: c.create("x", audiences=["L1"], excluded=["L1"]), "excluded"),
        (
            lambda c: c.create("x", audiences=["L1"], content={"subject": "s", "body": "b"}),
            "content.body",
        ),
        (
            lambda c: c.create("x", audiences=["L1"], content={"from_email": "nope"}),
            "content.from_email",
        ),
        (lambda c: c.set_content("C1", {}), "content"),
        (lambda c: c.set_content("", {"subject": "s"}), "campaign_id"),
        (lambda c: c.assign_template("C1", ""), "template_id"),
        (lambda c: c.send(""), "campaign_id"),
        (lambda c: c.cancel(" "), "campaign_id"),
        (lambda c: c.get(""), "campaign_id"),
        (lambda c: c.wait_until_sent("C1", timeout=-1), "timeout"),
        (lambda c: c.wait_until_sent("C1", first_delay=5, max_delay=1), "max_delay"),
    ],
)
async def test_invalid_input_is_refused_before_any_request(kit, call, field):
    with pytest.raises(InvalidInputError) as info:
        await kit(call(kit.client.campaigns))
    assert info.value.field == field
    assert kit.requests == []
