"""client.segments against the sandbox, sync and async: listing, members, cached membership."""

from __future__ import annotations

import pytest

from klaviyo_kit.errors import InvalidInputError, NotFoundError
from klaviyo_kit.infra import MemoryCache
from klaviyo_kit.services.filters import equals

pytestmark = pytest.mark.anyio

SEGMENTS = "/api/segments"
QUOTED = 'Ada\'s "best" \\ buyers'


async def add_people(kit, count: int, prefix: str) -> list[str]:
    ids = []
    for i in range(count):
        profile = await kit(kit.client.profiles.upsert({"email": f"{prefix}{i}@example.com"}))
        ids.append(profile.id)
    return ids


async def test_iter_get_and_filter_with_quotes(kit):
    ids = [kit.sandbox.add_segment(f"Segment {i:02}") for i in range(13)]
    quoted = kit.sandbox.add_segment(QUOTED)
    got = await kit.collect(kit.client.segments.iter())
    assert [s.id for s in got] == [*ids, quoted]
    assert kit.count("GET", SEGMENTS) == 2
    only = await kit.collect(kit.client.segments.iter(filter=equals("name", QUOTED)))
    assert [s.id for s in only] == [quoted]
    segment = await kit(kit.client.segments.get(quoted))
    assert segment.name == QUOTED
    assert segment.is_active is True


async def test_get_missing_segment_is_not_found(kit):
    with pytest.raises(NotFoundError):
        await kit(kit.client.segments.get("NOPE00"))


async def test_iter_members_walks_every_page(kit):
    members = await add_people(kit, 230, "m")
    await add_people(kit, 5, "x")
    segment = kit.sandbox.add_segment("M people", where=lambda a: a["email"].startswith("m"))
    got = await kit.collect(kit.client.segments.iter_members(segment))
    assert [p.id for p in got] == members
    assert kit.count("GET", f"{SEGMENTS}/{segment}/profiles") == 3
    few = await kit.collect(kit.client.segments.iter_members(segment, page_size=50))
    assert len(few) == 230
    assert kit.count("GET", f"{SEGMENTS}/{segment}/profiles") == 3 + 5
    one = await kit.collect(
        kit.client.segments.iter_members(segment, filter=equals("email", "m7@example.com"))
    )
    assert [p.email for p in one] == ["m7@example.com"]


async def test_is_member_by_email_and_id(make_kit, sandbox):
    kit = make_kit(sandbox)
    inside = await kit(kit.client.profiles.upsert({"email": "o'brien@example.com"}))
    outside = await kit(kit.client.profiles.upsert({"email": "other@example.com"}))
    segment = sandbox.add_segment("VIP", members=[inside.id])
    assert await kit(kit.client.segments.is_member(segment, "o'brien@example.com")) is True
    assert await kit(kit.client.segments.is_member(segment, "other@example.com")) is False
    assert await kit(kit.client.segments.is_member(segment, inside.id)) is True
    assert await kit(kit.client.segments.is_member(segment, outside.id)) is False
    # caching is off by default in development: every check asks Klaviyo
    assert await kit(kit.client.segments.is_member(segment, inside.id)) is True
    assert kit.count("GET", f"{SEGMENTS}/{segment}/relationships/profiles") == 5


async def test_is_member_answers_are_cached_yes_and_no(make_kit, sandbox):
    kit = make_kit(sandbox, cache=MemoryCache(default_ttl=60))
    inside = await kit(kit.client.profiles.upsert({"email": "in@example.com"}))
    segment = sandbox.add_segment("Cached", members=[inside.id])
    for _ in range(3):
        assert await kit(kit.client.segments.is_member(segment, "in@example.com")) is True
        assert await kit(kit.client.segments.is_member(segment, "out@example.com")) is False
    assert kit.count("GET", f"{SEGMENTS}/{segment}/relationships/profiles") == 2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.get(" "), "segment_id"),
        (lambda s: s.is_member("", "a@example.com"), "segment_id"),
        (lambda s: s.is_member("S1", "a@b"), "email_or_id"),
        (lambda s: s.is_member("S1", ""), "email_or_id"),
    ],
)
async def test_invalid_input_is_refused_before_any_request(kit, call, field):
    with pytest.raises(InvalidInputError) as info:
        await kit(call(kit.client.segments))
    assert info.value.field == field
    assert kit.requests == []


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.iter(page_size=11),
        lambda s: s.iter_members("S1", page_size=0),
        lambda s: s.iter_members("", page_size=10),
    ],
)
async def test_listing_options_are_checked_before_any_request(kit, call):
    with pytest.raises(InvalidInputError):
        await kit.collect(call(kit.client.segments))
    assert kit.requests == []
