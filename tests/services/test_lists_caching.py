"""Lookups go through the client's cache: built from the settings, or injected; TTL from settings."""

from __future__ import annotations

import pytest

from klaviyo_kit import KlaviyoSettings
from klaviyo_kit.infra import MemoryCache, NullCache

pytestmark = pytest.mark.anyio

KEY = "pk_" + "f6" * 17


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_settings_build_the_cache(make_kit, sandbox):
    on = make_kit(sandbox, settings=KlaviyoSettings(private_key=KEY, environment="production"))
    assert isinstance(on.client.cache, MemoryCache)
    off = make_kit(sandbox, settings=KlaviyoSettings(private_key=KEY, cache={"enabled": False}))
    assert isinstance(off.client.cache, NullCache)
    await on(on.client.lists.create("Weekly"))
    for _ in range(2):
        assert await on(on.client.lists.find_by_name("Weekly")) is not None
        assert await off(off.client.lists.find_by_name("Weekly")) is not None
    assert on.count("GET", "/api/lists") == 1
    assert off.count("GET", "/api/lists") == 2


async def test_entries_live_settings_cache_ttl_seconds(make_kit, sandbox):
    clock = Clock()
    settings = KlaviyoSettings(private_key=KEY, cache={"enabled": True, "ttl": 30})
    cache = MemoryCache(default_ttl=3600, clock=clock)
    kit = make_kit(sandbox, settings=settings, cache=cache)
    profile = await kit(kit.client.profiles.upsert({"email": "in@example.com"}))
    segment = sandbox.add_segment("VIP", members=[profile.id])
    members = f"/api/segments/{segment}/relationships/profiles"
    assert await kit(kit.client.segments.is_member(segment, "in@example.com")) is True
    clock.now = 29.0
    assert await kit(kit.client.segments.is_member(segment, "in@example.com")) is True
    assert kit.count("GET", members) == 1
    clock.now = 31.0
    assert await kit(kit.client.segments.is_member(segment, "in@example.com")) is True
    assert kit.count("GET", members) == 2
