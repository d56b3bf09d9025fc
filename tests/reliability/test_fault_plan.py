"""2,000 events through a seeded plan of 20% faults: each is stored exactly once, none is lost.

The plan holds every failure Klaviyo's edge shows (429, 500, 502, 503, 504, 524, Cloudflare's
HTML 403, dropped connections, hangs past the client's timeout) and the worst one for writes: the
request is stored, then the answer is lost, so the retry sends it again. Each event's
``unique_id`` must make that second copy a no-op. Waits are injected: the run takes seconds.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.resilience import CircuitBreaker
from klaviyo_kit.sandbox import FaultPlan, Sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "pk_" + "r7" * 17
N = 2_000
PLAN = FaultPlan(
    seed=6,  # a seed whose first draws hold every kind of fault
    statuses={429: 0.015, 500: 0.015, 502: 0.015, 503: 0.015, 504: 0.015, 524: 0.015},
    cloudflare=0.02,
    drop=0.02,
    hang=0.02,
    lost=0.05,
)
SETTINGS = KlaviyoSettings(
    private_key=KEY, retry={"attempts": 5}, timeout=2.0, rate_limit={"enabled": False}
)  # the limiter would wait in real time; the plan's 429s still throttle


def test_the_plan_is_one_fifth_faults_of_every_kind():
    faults = PLAN.start()
    kinds = Counter(
        (f.kind, f.status) if f.kind == "status" else (f.kind, 0)
        for f in (faults.draw() for _ in range(10_000))
    )
    assert sum(n for kind, n in kinds.items() if kind[0] is not None) == pytest.approx(
        2_000, rel=0.1
    )
    assert {kind for kind, _ in kinds if kind} == {"status", "cloudflare", "drop", "hang", "lost"}


def events() -> Iterator[dict[str, object]]:
    for n in range(N):
        yield {"metric": "Reliability", "profile": f"p{n % 97}@example.com", "properties": {"n": n}}


def stored(sandbox: Sandbox) -> Counter[int]:
    return Counter(e.attributes["properties"]["n"] for e in sandbox.account.events.values())


def faulty_sandbox() -> Sandbox:
    return Sandbox(seed=1, api_key=KEY, faults=PLAN, rate_limits=False, sleep=lambda _: None)


def assert_each_event_once(sandbox: Sandbox) -> None:
    counts = stored(sandbox)
    assert sorted(counts) == list(range(N)), f"lost: {sorted(set(range(N)) - set(counts))[:10]}"
    assert max(counts.values()) == 1, "an event was stored twice"
    seen = Counter(f.kind for f in sandbox.faults_seen)
    assert seen["lost"] > 0, "the plan must have lost answers after storing"
    assert seen["cloudflare"] > 0
    assert seen["hang"] > 0


def test_track_many_stores_every_event_exactly_once():
    sandbox = faulty_sandbox()
    breaker = CircuitBreaker(cool_down=0.05)
    with KlaviyoClient(
        SETTINGS, transport=sandbox.transport(), breaker=breaker, sleep=lambda _: None
    ) as client:
        batch = list(events())
        for start in range(0, N, 10):  # 200 bulk requests, each through the fault plan
            client.events.track_many(batch[start : start + 10])
    assert_each_event_once(sandbox)


def test_the_background_sender_stores_every_event_exactly_once_and_dead_letters_none():
    sandbox = faulty_sandbox()
    breaker = CircuitBreaker(cool_down=0.05)
    settings = SETTINGS.model_copy(
        update={"retry": SETTINGS.retry.model_copy(update={"attempts": 2})}
    )
    with KlaviyoClient(
        settings, transport=sandbox.transport(), breaker=breaker, sleep=lambda _: None
    ) as client:
        queue = MemoryQueue()
        sender = client.events.background(queue, batch_size=10, linger=0, sleep=lambda _: None)
        sender.track_many(events())
        assert sender.flush(timeout=120)
        assert sender.dead_letters() == []
        assert sender.stats.sent == N
        assert sender.stats.retried > 0  # the sender's own retries were exercised too
    assert_each_event_once(sandbox)


@pytest.mark.anyio
async def test_the_async_sender_stores_every_event_exactly_once_and_dead_letters_none():
    sandbox = faulty_sandbox()

    async def no_sleep(_: float) -> None:
        return None

    async with AsyncKlaviyoClient(
        SETTINGS,
        transport=sandbox.transport(),
        breaker=CircuitBreaker(cool_down=0.05),
        sleep=no_sleep,
    ) as client:
        sender = client.events.background(MemoryQueue(), batch_size=10, linger=0, sleep=no_sleep)
        await sender.track_many(events())
        assert await sender.flush(timeout=120)
        assert await sender.dead_letters() == []
    assert_each_event_once(sandbox)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
