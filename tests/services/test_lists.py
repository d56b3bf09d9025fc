"""client.lists against the sandbox, sync and async: CRUD, lookup, pagination, membership."""

from __future__ import annotations

import pytest

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import InvalidInputError, NotFoundError
from klaviyo_kit.infra import MemoryCache
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.services import BulkSubmission
from klaviyo_kit.services.filters import equals

pytestmark = pytest.mark.anyio

KEY = "pk_" + "a" * 34
QUOTED = 'Ada\'s "VIP" list \\ 2026'
MEMBERS = "/api/lists/{}/relationships/profiles"


@pytest.fixture(scope="module")
def crowd() -> tuple[Sandbox, list[str]]:
    """A sandbox holding 1,001 profiles (built once: the chunking tests only add lists)."""
    sandbox = Sandbox(seed=7, rate_limits=False)
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    with KlaviyoClient(settings, transport=sandbox.transport()) as client:
        for i in range(1001):
            client.profiles.upsert({"email": f"p{i}@example.com"})
    return sandbox, list(sandbox.account.profiles)


async def test_create_get_and_find_by_name_with_quotes(kit):
    created = await kit(kit.client.lists.create(QUOTED, opt_in_process="double_opt_in"))
    assert created.id
    assert created.name == QUOTED
    assert created.opt_in_process == "double_opt_in"
    got = await kit(kit.client.lists.get(created.id))
    assert got.name == QUOTED
    found = await kit(kit.client.lists.find_by_name(QUOTED))
    assert found is not None
    assert found.id == created.id
    assert await kit(kit.client.lists.find_by_name("Ada's")) is None


async def test_get_missing_list_is_not_found(kit):
    with pytest.raises(NotFoundError):
        await kit(kit.client.lists.get("XXXXXX"))


async def test_iter_walks_every_page(kit):
    names = [f"List {i:02}" for i in range(23)]
    for name in names:
        await kit(kit.client.lists.create(name))
    got = await kit.collect(kit.client.lists.iter())
    assert [item.name for item in got] == names
    assert kit.count("GET", "/api/lists") == 3
    small = await kit.collect(kit.client.lists.iter(page_size=4))
    assert len(small) == 23
    assert kit.count("GET", "/api/lists") == 3 + 6
    only = await kit.collect(kit.client.lists.iter(filter=equals("name", "List 07")))
    assert [item.name for item in only] == ["List 07"]


async def test_find_by_name_is_cached(mode, make_kit, sandbox):
    kit = make_kit(sandbox, cache=MemoryCache(default_ttl=60))
    created = await kit(kit.client.lists.create("Cached"))
    for _ in range(3):
        found = await kit(kit.client.lists.find_by_name("Cached"))
        assert found is not None
        assert found.id == created.id
        assert found.created == created.created
    assert kit.count("GET", "/api/lists") == 1
    # A miss is not cached: the list may be created later.
    assert await kit(kit.client.lists.find_by_name("Later")) is None
    await kit(kit.client.lists.create("Later"))
    assert await kit(kit.client.lists.find_by_name("Later")) is not None


async def test_find_by_name_without_cache_asks_every_time(kit):
    assert type(kit.client.cache).__name__ == "NullCache"  # development default
    await kit(kit.client.lists.create("Plain"))
    for _ in range(2):
        assert await kit(kit.client.lists.find_by_name("Plain")) is not None
    assert kit.count("GET", "/api/lists") == 2


@pytest.mark.parametrize(("count", "requests"), [(999, 1), (1000, 1), (1001, 2)])
async def test_add_and_remove_profiles_in_chunks_of_1000(make_kit, crowd, count, requests):
    sandbox, ids = crowd
    kit = make_kit(sandbox)
    target = await kit(kit.client.lists.create(f"Chunk {count}"))
    added = await kit(kit.client.lists.add_profiles(target.id, ids[:count]))
    assert added == BulkSubmission(submitted=count, requests=requests)
    assert kit.count("POST", MEMBERS.format(target.id)) == requests
    assert list(sandbox.account.list_members[target.id]) == ids[:count]
    removed = await kit(kit.client.lists.remove_profiles(target.id, ids[: count - 1]))
    assert removed.requests == (2 if count - 1 > 1000 else 1)
    assert kit.count("DELETE", MEMBERS.format(target.id)) == removed.requests
    assert list(sandbox.account.list_members[target.id]) == ids[count - 1 : count]


async def test_add_profiles_sends_duplicates_once_and_nothing_for_none(kit):
    profile = await kit(kit.client.profiles.upsert({"email": "dup@example.com"}))
    target = await kit(kit.client.lists.create("Dups"))
    result = await kit(kit.client.lists.add_profiles(target.id, [profile.id, profile.id]))
    assert result == BulkSubmission(1, 1)
    empty = await kit(kit.client.lists.add_profiles(target.id, []))
    assert empty == BulkSubmission(0, 0)
    assert kit.count("POST", MEMBERS.format(target.id)) == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda lists: lists.create("  "), "name"),
        (lambda lists: lists.create("x" * 256), "name"),
        (lambda lists: lists.create("ok", opt_in_process="triple"), "opt_in_process"),
        (lambda lists: lists.get(""), "list_id"),
        (lambda lists: lists.find_by_name(""), "name"),
        (lambda lists: lists.add_profiles("", ["a"]), "list_id"),
        (lambda lists: lists.add_profiles("L1", ["a", " "]), "profile_ids[1]"),
        (lambda lists: lists.remove_profiles("L1", [None]), "profile_ids[0]"),
    ],
)
async def test_invalid_input_is_refused_before_any_request(kit, call, field):
    with pytest.raises(InvalidInputError) as info:
        await kit(call(kit.client.lists))
    assert info.value.field == field
    assert kit.requests == []


async def test_iter_page_size_is_checked(kit):
    with pytest.raises(InvalidInputError, match="page_size"):
        await kit.collect(kit.client.lists.iter(page_size=11))
    assert kit.requests == []
