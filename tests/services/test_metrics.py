"""client.metrics against the sandbox, sync and async: pages, cached ids, daily counts and sums."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from klaviyo_kit import KlaviyoSettings
from klaviyo_kit.errors import InvalidInputError, NotFoundError
from klaviyo_kit.infra import MemoryCache
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.services import MetricAggregate
from klaviyo_kit.services.filters import equals

pytestmark = pytest.mark.anyio

KEY = "pk_" + "f6" * 17
NO_LIMITS: dict[str, Any] = {"rate_limit": {"enabled": False}}
QUOTED = 'Ada\'s "Placed" Order'
DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)


def track(sandbox, metric: str, when: datetime, value: float | None = None, who: str = "a") -> None:
    attributes: dict[str, object] = {
        "properties": {},
        "time": when.isoformat(),
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": f"{who}@example.com"}}},
    }
    if value is not None:
        attributes["value"] = value
    body = json.dumps({"data": {"type": "event", "attributes": attributes}}).encode()
    headers = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-10-15"}
    assert sandbox.handle("POST", "/api/events", "", headers, body).status == 202


def metric_id(sandbox, name: str) -> str:
    [found] = [r.id for r in sandbox.account.metrics.values() if r.attributes["name"] == name]
    return str(found)


async def test_iter_get_and_get_id_across_pages(kit):
    names = [f"Metric {i:03}" for i in range(205)]
    for name in names:
        track(kit.sandbox, name, DAY)
    got = await kit.collect(kit.client.metrics.iter())
    assert [m.name for m in got] == names
    assert kit.count("GET", "/api/metrics") == 2
    by_api = await kit.collect(kit.client.metrics.iter(filter=equals("integration.name", "API")))
    assert len(by_api) == 205
    assert await kit.collect(kit.client.metrics.iter(filter=equals("integration.name", "X"))) == []
    assert kit.count("GET", "/api/metrics") == 5
    last = await kit(kit.client.metrics.get_id("Metric 204"))
    assert last == metric_id(kit.sandbox, "Metric 204")
    assert kit.count("GET", "/api/metrics") == 7
    assert await kit(kit.client.metrics.get_id("Nope")) is None
    metric = await kit(kit.client.metrics.get(last))
    assert metric.name == "Metric 204"
    assert metric.integration is not None


async def test_get_missing_metric_is_not_found(kit):
    with pytest.raises(NotFoundError):
        await kit(kit.client.metrics.get("NOPE00"))


async def test_get_id_with_quotes_is_cached(make_kit, sandbox):
    kit = make_kit(sandbox, cache=MemoryCache(default_ttl=60))
    track(sandbox, QUOTED, DAY)
    for _ in range(3):
        assert await kit(kit.client.metrics.get_id(QUOTED)) == metric_id(sandbox, QUOTED)
    assert kit.count("GET", "/api/metrics") == 1
    settings = kit.client.settings
    scoped = f"{settings.environment.value}:{settings.account_fingerprint}:metric-id:{QUOTED}"
    assert await kit(kit.client.cache.aget(scoped)) == metric_id(sandbox, QUOTED)


async def test_get_id_without_cache_asks_every_time(kit):
    track(kit.sandbox, "Placed Order", DAY)
    for _ in range(2):
        assert await kit(kit.client.metrics.get_id("Placed Order")) is not None
    assert kit.count("GET", "/api/metrics") == 2


async def test_counts_and_sums_by_day(kit):
    track(kit.sandbox, "Placed Order", DAY + timedelta(hours=1), 10, who="a")
    track(kit.sandbox, "Placed Order", DAY + timedelta(hours=23), 5.5, who="b")
    track(kit.sandbox, "Placed Order", DAY + timedelta(days=2, hours=5), 4, who="a")
    track(kit.sandbox, "Placed Order", DAY + timedelta(days=4), 100)  # at the end: excluded
    track(kit.sandbox, "Placed Order", DAY - timedelta(seconds=1), 100)  # before the start
    track(kit.sandbox, "Viewed Product", DAY + timedelta(hours=2), 7)
    metric = await kit(kit.client.metrics.get_id("Placed Order"))
    end = DAY + timedelta(days=4)
    days = [date(2026, 3, d) for d in range(1, 5)]
    counts = await kit(kit.client.metrics.counts_by_day(metric, start=DAY, end=end))
    assert counts == dict(zip(days, [2.0, 0.0, 1.0, 0.0], strict=True))
    sums = await kit(kit.client.metrics.sums_by_day(metric, start=DAY, end=end))
    assert sums == dict(zip(days, [15.5, 0.0, 4.0, 0.0], strict=True))
    result = await kit(
        kit.client.metrics.aggregate(
            metric, start=DAY, end=end, measurements=["count", "unique"], interval="week"
        )
    )
    assert isinstance(result, MetricAggregate)
    assert result.interval == "week"
    assert sum(result.totals("count").values()) == 3
    weeks = [datetime(2026, 2, 23, tzinfo=timezone.utc), datetime(2026, 3, 2, tzinfo=timezone.utc)]
    assert result.dates == tuple(weeks)
    assert result.totals("unique") == dict(zip(weeks, [2.0, 1.0], strict=True))  # per bucket


async def test_naive_datetimes_are_utc(kit):
    track(kit.sandbox, "Placed Order", DAY + timedelta(hours=3))
    metric = await kit(kit.client.metrics.get_id("Placed Order"))
    naive = DAY.replace(tzinfo=None)
    counts = await kit(
        kit.client.metrics.counts_by_day(metric, start=naive, end=naive + timedelta(days=1))
    )
    assert counts == {date(2026, 3, 1): 1.0}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.get(""), "metric_id"),
        (lambda m: m.get_id(" "), "name"),
        (lambda m: m.counts_by_day("", start=DAY, end=DAY + timedelta(1)), "metric_id"),
        (lambda m: m.counts_by_day("M1", start=DAY, end=DAY), "end"),
        (lambda m: m.counts_by_day("M1", start="2026-03-01", end=DAY), "start"),
        (
            lambda m: m.aggregate("M1", start=DAY, end=DAY + timedelta(1), measurements=[]),
            "measurements",
        ),
        (
            lambda m: m.aggregate("M1", start=DAY, end=DAY + timedelta(1), measurements=["avg"]),
            "measurements",
        ),
        (
            lambda m: m.aggregate("M1", start=DAY, end=DAY + timedelta(1), interval="year"),
            "interval",
        ),
        (
            lambda m: m.aggregate("M1", start=DAY, end=DAY + timedelta(1), timezone="Mars/Base"),
            "timezone",
        ),
        (
            lambda m: m.aggregate("M1", start=DAY, end=DAY + timedelta(1), timezone=""),
            "timezone",
        ),
    ],
)
async def test_invalid_input_is_refused_before_any_request(kit, call, field):
    with pytest.raises(InvalidInputError) as info:
        await kit(call(kit.client.metrics))
    assert info.value.field == field
    assert kit.requests == []


async def test_a_shared_cache_never_hands_one_account_anothers_metric_id(make_kit):
    shared = MemoryCache(default_ttl=60)
    ours, theirs = Sandbox(seed=11, rate_limits=False), Sandbox(seed=12, rate_limits=False)
    for sandbox in (ours, theirs):
        track(sandbox, "Placed Order", DAY)
    assert metric_id(ours, "Placed Order") != metric_id(theirs, "Placed Order")
    other_key = "pk_" + "c3" * 17
    ours_kit = make_kit(ours, cache=shared)
    theirs_kit = make_kit(
        theirs, cache=shared, settings=KlaviyoSettings(private_key=other_key, **NO_LIMITS)
    )
    staging_kit = make_kit(
        ours,
        cache=shared,
        settings=KlaviyoSettings(private_key=KEY, environment="staging", **NO_LIMITS),
    )
    assert await ours_kit(ours_kit.client.metrics.get_id("Placed Order")) == metric_id(
        ours, "Placed Order"
    )
    assert await theirs_kit(theirs_kit.client.metrics.get_id("Placed Order")) == metric_id(
        theirs, "Placed Order"
    )
    assert theirs_kit.count("GET", "/api/metrics") == 1, "the other account asked its own"
    assert await staging_kit(staging_kit.client.metrics.get_id("Placed Order")) == metric_id(
        ours, "Placed Order"
    )
    assert staging_kit.count("GET", "/api/metrics") == 1, "environments do not share entries"
    assert len(shared) == 3
