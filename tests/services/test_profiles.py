from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient
from klaviyo_kit.errors import InvalidInputError, NotFoundError
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.services import ProfileInput
from klaviyo_kit.services.filters import equals

from .conftest import Recorder

pytestmark = pytest.mark.anyio


def test_upsert_creates_then_updates(client: KlaviyoClient, sandbox: Sandbox):
    first = client.profiles.upsert({"email": "ada@example.com", "first_name": "Ada"})
    assert first.id
    assert first.email == "ada@example.com"
    second = client.profiles.upsert(
        ProfileInput(email="ada@example.com", last_name="Lovelace", properties={"plan": "pro"})
    )
    assert second.id == first.id
    assert second.first_name == "Ada"
    assert second.last_name == "Lovelace"
    assert second.properties["plan"] == "pro"
    assert len(sandbox.account.profiles) == 1


def test_upsert_conflict_updates_the_duplicate(
    client: KlaviyoClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
):
    by_email = client.profiles.upsert({"email": "grace@example.com"})
    by_phone = client.profiles.upsert({"phone_number": "+15005550006"})
    assert by_email.id != by_phone.id
    # Email and phone belong to two profiles: Klaviyo answers 409 duplicate_profile,
    # and the service updates the profile Klaviyo names.
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit"):
        merged = client.profiles.upsert(
            {"email": "grace@example.com", "phone_number": "+15005550006", "first_name": "Grace"}
        )
    assert merged.id in {by_email.id, by_phone.id}
    assert merged.first_name == "Grace"
    assert 409 in recorder.statuses("/api/profile-import")
    # The other identifier stays on its own profile; the caller is told, not silently ignored,
    # and the log names the field, never the value.
    assert "phone_number" in caplog.text or "email" in caplog.text
    assert "+15005550006" not in caplog.text
    assert "grace@example.com" not in caplog.text


def test_get_and_not_found(client: KlaviyoClient):
    created = client.profiles.upsert({"external_id": "user-1"})
    assert created.id is not None
    assert client.profiles.get(created.id).external_id == "user-1"
    with pytest.raises(NotFoundError):
        client.profiles.get("01NOPE")


@pytest.mark.parametrize(
    "email",
    ['o"brien@example.com', "back\\slash@example.com", "zoë@exämple.com", "plain@example.com"],
)
def test_find_by_email_escapes_the_filter(client: KlaviyoClient, email: str):
    client.profiles.upsert({"email": "other@example.com"})
    created = client.profiles.upsert({"email": email})
    found = client.profiles.find_by_email(email)
    assert found is not None
    assert found.id == created.id
    assert client.profiles.find_by_email("missing@example.com") is None


def test_iter_walks_every_page(client: KlaviyoClient, recorder: Recorder):
    for i in range(23):
        client.profiles.upsert({"email": f"user{i:02}@example.com"})
    seen = [p.email or "" for p in client.profiles.iter(page_size=5)]
    assert sorted(seen) == [f"user{i:02}@example.com" for i in range(23)]
    assert recorder.statuses("/api/profiles") == [200] * 5
    only = list(client.profiles.iter(filter=equals("email", "user07@example.com")))
    assert [p.email for p in only] == ["user07@example.com"]


def test_invalid_input_fails_before_any_request(client: KlaviyoClient, recorder: Recorder):
    with pytest.raises(InvalidInputError, match="email"):
        client.profiles.upsert({"email": "not-an-email"})
    with pytest.raises(InvalidInputError, match="needs at least one of"):
        client.profiles.upsert({"first_name": "Nobody"})
    with pytest.raises(InvalidInputError, match="email"):
        client.profiles.find_by_email("nope")
    assert recorder.calls == []


def test_sync_helpers_stamp_properties(client: KlaviyoClient):
    profile = client.profiles.sync_to_klaviyo({"email": "sync@example.com", "first_name": "S"})
    assert profile.properties["syncSource"] == "klaviyo-kit"
    assert "lastSyncedAt" in profile.properties
    back = client.profiles.sync_from_klaviyo("sync@example.com")
    assert back is not None
    assert back.id == profile.id


async def test_async_twin(aclient: AsyncKlaviyoClient):
    created = await aclient.profiles.upsert({"email": "async@example.com"})
    assert created.id is not None
    assert (await aclient.profiles.get(created.id)).email == "async@example.com"
    found = await aclient.profiles.find_by_email('as"ync@example.com')
    assert found is None
    for i in range(7):
        await aclient.profiles.upsert({"email": f"a{i}@example.com"})
    emails = [p.email async for p in aclient.profiles.iter(page_size=3)]
    assert len(emails) == 8
    synced = await aclient.profiles.sync_to_klaviyo({"email": "async@example.com"})
    assert synced.id == created.id
    assert (await aclient.profiles.sync_from_klaviyo("async@example.com")) is not None


async def settle(kit, make: Callable[[], Any]) -> Any:
    """Call, then await a coroutine or drain an iterator (lazy listings check on first use)."""
    result = make()
    if hasattr(result, "__aiter__") or hasattr(result, "__next__"):
        return await kit.collect(result)
    return await kit(result)


@pytest.mark.parametrize(
    ("call", "field", "words"),
    [
        (lambda p: p.iter(page_size=0), "page_size", "1 to 100"),
        (lambda p: p.iter(page_size=101), "page_size", "1 to 100"),
        (lambda p: p.get("  "), "profile_id", "non-empty"),
        (lambda p: p.bulk_import([{"email": "a@example.com"}], list_id=""), "list_id", "non-empty"),
        (
            lambda p: p.bulk_import([{"email": "a@example.com"}], list_id=" "),
            "list_id",
            "non-empty",
        ),
        (lambda p: p.bulk_import([], poll_interval=0), "poll_interval", "positive"),
        (lambda p: p.bulk_import([], poll_interval=-1), "poll_interval", "positive"),
        (lambda p: p.bulk_import([], timeout=-1), "timeout", "negative"),
    ],
)
async def test_bad_options_name_the_field_before_any_request(kit, call, field, words):
    with pytest.raises(InvalidInputError) as info:
        await settle(kit, lambda: call(kit.client.profiles))
    assert info.value.field == field
    assert words in info.value.problem
    assert kit.requests == []


async def test_iter_accepts_the_page_size_limits(kit):
    for i in range(3):
        await kit(kit.client.profiles.upsert({"email": f"edge{i}@example.com"}))
    assert len(await kit.collect(kit.client.profiles.iter(page_size=1))) == 3
    assert len(await kit.collect(kit.client.profiles.iter(page_size=100))) == 3
