"""client.lists consent in bulk against the sandbox, sync and async, at Klaviyo's chunk limits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services import BulkSubmission, Subscriber

pytestmark = pytest.mark.anyio

SUBSCRIBE = "/api/profile-subscription-bulk-create-jobs"
UNSUBSCRIBE = "/api/profile-subscription-bulk-delete-jobs"
SUPPRESS = "/api/profile-suppression-bulk-create-jobs"
UNSUPPRESS = "/api/profile-suppression-bulk-delete-jobs"
WHEN = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def emails(count: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i}@example.com" for i in range(count)]


def consent(sandbox, email: str, channel: str = "email") -> str | None:
    profile = sandbox.account.find_profile("email", email)
    assert profile is not None, email
    value = profile.extra.get("subscriptions", {}).get(channel)
    return None if value is None else str(value)


@pytest.mark.parametrize(("count", "requests"), [(999, 1), (1000, 1), (1001, 2)])
async def test_subscribe_in_chunks_of_1000(kit, count, requests):
    target = await kit(kit.client.lists.create("Newsletter"))
    addresses = emails(count)
    result = await kit(kit.client.lists.subscribe(addresses, list_id=target.id))
    assert result == BulkSubmission(count, requests)
    assert kit.count("POST", SUBSCRIBE) == requests
    assert consent(kit.sandbox, addresses[0]) == "SUBSCRIBED"
    assert consent(kit.sandbox, addresses[-1]) == "SUBSCRIBED"
    assert len(kit.sandbox.account.list_members[target.id]) == count


@pytest.mark.parametrize(("count", "requests"), [(99, 1), (100, 1), (101, 2)])
async def test_unsubscribe_in_chunks_of_100(kit, count, requests):
    addresses = emails(count)
    await kit(kit.client.lists.subscribe(addresses))
    result = await kit(kit.client.lists.unsubscribe(addresses))
    assert result == BulkSubmission(count, requests)
    assert kit.count("POST", UNSUBSCRIBE) == requests
    assert {consent(kit.sandbox, a) for a in addresses} == {"UNSUBSCRIBED"}


@pytest.mark.parametrize(("count", "requests"), [(99, 1), (100, 1), (101, 2)])
async def test_suppress_and_unsuppress_in_chunks_of_100(kit, count, requests):
    addresses = emails(count, prefix="s")
    suppressed = await kit(kit.client.lists.suppress(addresses))
    assert suppressed.submitted == count
    assert suppressed.requests == requests
    assert len(suppressed.job_ids) == requests
    assert kit.count("POST", SUPPRESS) == requests
    kit.sandbox.run_jobs()
    assert all(kit.sandbox.account.find_profile("email", a).extra["suppressed"] for a in addresses)
    lifted = await kit(kit.client.lists.unsuppress(addresses))
    assert (lifted.submitted, lifted.requests, len(lifted.job_ids)) == (count, requests, requests)
    assert kit.count("POST", UNSUPPRESS) == requests
    kit.sandbox.run_jobs()
    assert not any(
        kit.sandbox.account.find_profile("email", a).extra["suppressed"] for a in addresses
    )


async def test_subscribe_email_and_sms_with_a_quote_in_the_address(kit):
    people = [
        Subscriber(email="o'brien@example.com", phone_number="+15005550006"),
        {"email": "sms-less@example.com"},
        "+15005550007",
    ]
    result = await kit(kit.client.lists.subscribe(people, channels=("email", "sms")))
    assert result == BulkSubmission(3, 1)
    assert consent(kit.sandbox, "o'brien@example.com") == "SUBSCRIBED"
    assert consent(kit.sandbox, "o'brien@example.com", "sms") == "SUBSCRIBED"
    assert consent(kit.sandbox, "sms-less@example.com", "sms") is None
    by_phone = kit.sandbox.account.find_profile("phone_number", "+15005550007")
    assert by_phone is not None
    assert by_phone.extra["subscriptions"] == {"sms": "SUBSCRIBED"}


async def test_historical_import_sends_consented_at(kit):
    people = [Subscriber(email="old@example.com", consented_at=WHEN)]
    result = await kit(
        kit.client.lists.subscribe(people, historical_import=True, custom_source="crm")
    )
    assert result.requests == 1
    assert consent(kit.sandbox, "old@example.com") == "SUBSCRIBED"


async def test_unsubscribe_from_one_list_removes_membership(kit):
    target = await kit(kit.client.lists.create("Weekly"))
    await kit(kit.client.lists.subscribe(["a@example.com", "b@example.com"], list_id=target.id))
    await kit(kit.client.lists.unsubscribe(["a@example.com"], list_id=target.id))
    members = kit.sandbox.account.list_members[target.id]
    remaining = [kit.sandbox.account.profiles[i].attributes["email"] for i in members]
    assert remaining == ["b@example.com"]


async def test_a_lone_address_is_one_profile(kit):
    assert await kit(kit.client.lists.subscribe("solo@example.com")) == BulkSubmission(1, 1)
    assert await kit(kit.client.lists.suppress("solo@example.com")) == BulkSubmission(
        1, 1, tuple(kit.sandbox.account.suppression_jobs)
    )


async def test_nothing_to_send_makes_no_request(kit):
    assert await kit(kit.client.lists.subscribe([])) == BulkSubmission(0, 0)
    assert await kit(kit.client.lists.suppress([])) == BulkSubmission(0, 0)
    assert kit.requests == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda lists: lists.subscribe(["a@example.com", "not-an-email"]), "profiles[1].email"),
        (lambda lists: lists.subscribe(["+1"]), "profiles[0].phone_number"),
        (lambda lists: lists.subscribe(["+15005550006"]), "profiles[0]"),
        (lambda lists: lists.subscribe(["a@example.com"], channels=()), "channels"),
        (lambda lists: lists.subscribe(["a@example.com"], channels=("fax",)), "channels"),
        (lambda lists: lists.subscribe(["a@example.com"], list_id=" "), "list_id"),
        (
            lambda lists: lists.subscribe(["a@example.com"], historical_import=True),
            "profiles[0].consented_at",
        ),
        (
            lambda lists: lists.subscribe([{"email": "a@example.com", "consented_at": WHEN}]),
            "profiles[0].consented_at",
        ),
        (lambda lists: lists.subscribe([{"email": "a@example.com", "x": 1}]), "profiles[0].x"),
        (
            lambda lists: lists.subscribe(
                [
                    {
                        "email": "a@example.com",
                        "consented_at": datetime.now(timezone.utc) + timedelta(days=1),
                    }
                ],
                historical_import=True,
            ),
            "profiles[0].consented_at",
        ),
        (
            lambda lists: lists.unsubscribe([{"email": "a@example.com", "consented_at": WHEN}]),
            "profiles[0].consented_at",
        ),
        (lambda lists: lists.suppress(["ok@example.com", "bad"]), "emails[1]"),
        (lambda lists: lists.unsuppress(["bad"]), "emails[0]"),
    ],
)
async def test_invalid_input_is_refused_before_any_request(kit, call, field):
    with pytest.raises(InvalidInputError) as info:
        await kit(call(kit.client.lists))
    assert info.value.field == field
    assert kit.requests == []


async def test_one_bad_row_after_a_full_chunk_sends_nothing(kit):
    rows = [*emails(1000), "broken"]
    with pytest.raises(InvalidInputError, match=r"profiles\[1000\]"):
        await kit(kit.client.lists.subscribe(rows))
    assert kit.requests == []
