"""client.events against the sandbox, sync and async: track, track_purchase, track_many."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.resilience import is_idempotent
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.sdk import OperationCall
from klaviyo_kit.services import AsyncEvents, Events, Order, OrderItem, ProfileInput
from klaviyo_kit.services._validate import MAX_PAYLOAD_BYTES

KEY = "pk_" + "a" * 34
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=1)


@pytest.fixture(params=["sync", "async"])
def events(request, recorder):
    settings = KlaviyoSettings(private_key=KEY)
    if request.param == "sync":
        client = KlaviyoClient(settings, transport=recorder)
        yield client.events
        client.close()
    else:
        aclient = AsyncKlaviyoClient(settings, transport=recorder)
        yield aclient.events


async def call(service: Events | AsyncEvents, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(service, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def stored(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [record.attributes for record in sandbox.account.events.values()]


def metric_names(sandbox: Sandbox) -> list[str]:
    return [m.attributes["name"] for m in sandbox.account.metrics.values()]


@pytest.mark.anyio
async def test_track_sends_one_event_with_value_time_and_unique_id(events, sandbox):
    sent = await call(
        events,
        "track",
        "Viewed Product",
        "ada@example.com",
        {"ProductID": "p1"},
        value=9.5,
        value_currency="USD",
        time=WHEN,
    )
    assert sent.metric == "Viewed Product"
    assert sent.time == WHEN
    assert len(sent.unique_id) == 64
    [event] = stored(sandbox)
    assert event["properties"] == {"ProductID": "p1", "$value": 9.5}
    assert event["unique_id"] == sent.unique_id
    [record] = sandbox.account.events.values()
    assert record.created == pytest.approx(WHEN.timestamp())
    assert metric_names(sandbox) == ["Viewed Product"]
    [profile] = sandbox.account.profiles.values()
    assert profile.attributes["email"] == "ada@example.com"


@pytest.mark.anyio
async def test_a_retry_of_the_same_event_is_counted_once(events, sandbox):
    first = await call(events, "track", "Clicked", "ada@example.com", {"button": "buy"}, time=WHEN)
    again = await call(events, "track", "Clicked", "ada@example.com", {"button": "buy"}, time=WHEN)
    later = await call(
        events,
        "track",
        "Clicked",
        "ada@example.com",
        {"button": "buy"},
        time=WHEN + timedelta(seconds=1),
    )
    assert first.unique_id == again.unique_id != later.unique_id
    assert len(sandbox.account.events) == 2


@pytest.mark.anyio
async def test_identical_clicks_without_time_are_distinct_events(events, sandbox):
    one = await call(events, "track", "Clicked", "ada@example.com", {"button": "buy"})
    two = await call(events, "track", "Clicked", "ada@example.com", {"button": "buy"})
    assert one.unique_id != two.unique_id
    assert len(sandbox.account.events) == 2


def test_time_is_fixed_before_hashing_so_the_same_now_gives_the_same_id(sandbox):
    client = KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    service = Events(client, now=lambda: WHEN)
    first = service.track("Clicked", "ada@example.com", {"button": "buy"})
    second = service.track("Clicked", "ada@example.com", {"button": "buy"})
    assert first == second
    assert first.time == WHEN
    assert len(sandbox.account.events) == 1


def test_the_unique_id_depends_on_every_part_of_the_event(sandbox):
    client = KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    service = Events(client, now=lambda: WHEN)
    base = {"metric": "M", "profile": {"email": "ada@example.com"}, "properties": {"a": 1}}
    ids = {
        service.track_event(base).unique_id,
        service.track_event({**base, "metric": "N"}).unique_id,
        service.track_event({**base, "profile": {"email": "bob@example.com"}}).unique_id,
        service.track_event({**base, "properties": {"a": 2}}).unique_id,
        service.track_event({**base, "value": 1}).unique_id,
        service.track_event({**base, "time": WHEN - timedelta(days=1)}).unique_id,
    }
    assert len(ids) == 6
    given = service.track_event({**base, "unique_id": "mine"})
    assert given.unique_id == "mine"


@pytest.mark.anyio
async def test_track_accepts_a_profile_input_and_phone_identified_profiles(events, sandbox):
    profile = ProfileInput(phone_number="+15005550006", first_name="Ada")
    await call(events, "track", "Signed Up", profile)
    [stored_profile] = sandbox.account.profiles.values()
    assert stored_profile.attributes["phone_number"] == "+15005550006"
    assert stored_profile.attributes["first_name"] == "Ada"


@pytest.mark.anyio
async def test_track_purchase_records_items_and_item_count_once_per_order(events, sandbox):
    order = Order(
        order_id="order-1001",
        profile="ada@example.com",
        items=[
            OrderItem(product_id="p1", name="Book", quantity=2, price=9.5, categories=["Books"]),
            OrderItem(product_id="p2", name="Pen", price=1.25, brand="Acme", sku="PEN-1"),
        ],
        currency="USD",
        discount_code="WELCOME",
        time=WHEN,
    )
    sent = await call(events, "track_purchase", order)
    await call(events, "track_purchase", order.model_dump())
    assert sent.unique_id == "order-1001"
    assert sent.metric == "Placed Order"
    [event] = stored(sandbox)
    props = event["properties"]
    assert props["OrderId"] == "order-1001"
    assert props["ItemCount"] == 3
    assert props["$value"] == 20.25
    assert props["ItemNames"] == ["Book", "Pen"]
    assert props["Categories"] == ["Books"]
    assert props["Brands"] == ["Acme"]
    assert props["DiscountCode"] == "WELCOME"
    assert props["Items"][0] == {
        "ProductID": "p1",
        "ProductName": "Book",
        "Quantity": 2,
        "ItemPrice": 9.5,
        "RowTotal": 19.0,
        "Categories": ["Books"],
    }
    assert props["Items"][1]["SKU"] == "PEN-1"
    assert metric_names(sandbox) == ["Placed Order"]


@pytest.mark.anyio
async def test_track_purchase_uses_an_explicit_total(events, sandbox):
    order = {
        "order_id": "o-2",
        "profile": {"email": "ada@example.com"},
        "total": 5,
        "items": [{"product_id": "p1", "name": "Book", "price": 9.5}],
    }
    await call(events, "track_purchase", order)
    [event] = stored(sandbox)
    assert event["properties"]["$value"] == 5.0


def many(count: int, profiles: int = 7) -> list[dict[str, Any]]:
    return [
        {
            "metric": "Opened App",
            "profile": f"user{i % profiles}@example.com",
            "properties": {"n": i},
            "time": WHEN,
        }
        for i in range(count)
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(("count", "requests"), [(999, 1), (1000, 1), (1001, 2), (2000, 2)])
async def test_track_many_chunks_at_1000_events(events, sandbox, count, requests):
    report = await call(events, "track_many", many(count))
    assert report.requests == requests
    assert len(report.events) == count
    assert len(sandbox.account.events) == count
    assert len({event.unique_id for event in report.events}) == count
    assert len(sandbox.account.profiles) == 7


@pytest.mark.anyio
async def test_track_many_again_is_deduplicated_by_unique_id(events, sandbox):
    first = await call(events, "track_many", many(20))
    second = await call(events, "track_many", many(20))
    assert first.events == second.events
    assert len(sandbox.account.events) == 20


@pytest.mark.anyio
async def test_track_many_of_nothing_sends_nothing(events, sandbox):
    report = await call(events, "track_many", [])
    assert report.requests == 0
    assert report.events == ()


@pytest.mark.anyio
async def test_track_many_splits_at_5_mb(events, sandbox, recorder):
    big = "x" * 90_000
    items = [
        {"metric": "Uploaded", "profile": "ada@example.com", "properties": {"blob": big, "n": i}}
        for i in range(70)
    ]
    report = await call(events, "track_many", items)
    assert report.requests == 2
    assert len(sandbox.account.events) == 70
    sizes = recorder.sizes("/api/event-bulk-create-jobs")
    assert len(sizes) == 2
    assert all(size <= MAX_PAYLOAD_BYTES for size in sizes), sizes


BAD_INPUTS = [
    ({"metric": "", "profile": "ada@example.com"}, "metric", "non-empty"),
    ({"metric": "   ", "profile": "ada@example.com"}, "metric", "non-empty"),
    ({"metric": "M", "profile": "not-an-email"}, "profile.email", "valid email"),
    ({"metric": "M", "profile": {}}, "profile", "needs at least one of"),
    ({"metric": "M", "profile": "a@example.com", "value": "12"}, "value", "must be a number"),
    ({"metric": "M", "profile": "a@example.com", "value": True}, "value", "must be a number"),
    ({"metric": "M", "profile": "a@example.com", "value": float("nan")}, "value", "finite"),
    (
        {"metric": "M", "profile": "a@example.com", "properties": {"note": "x" * 102_401}},
        "properties.note",
        "100 KB",
    ),
    (
        {"metric": "M", "profile": "a@example.com", "properties": {str(i): i for i in range(301)}},
        "properties",
        "limit is 300",
    ),
    (
        {"metric": "M", "profile": "a@example.com", "properties": {"list": list(range(4001))}},
        "properties.list",
        "limit is 4000",
    ),
    (
        {"metric": "M", "profile": "a@example.com", "value_currency": "usd"},
        "value_currency",
        "ISO 4217",
    ),
    (
        {"metric": "M", "profile": "a@example.com", "time": datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
        "time",
        "timezone-aware",
    ),
    (
        {
            "metric": "M",
            "profile": "a@example.com",
            "time": datetime(1989, 1, 1, tzinfo=timezone.utc),
        },
        "time",
        "before 1990",
    ),
    (
        {
            "metric": "M",
            "profile": "a@example.com",
            "time": datetime.now(timezone.utc) + timedelta(days=400),
        },
        "time",
        "a year ahead",
    ),
    ({"metric": "M", "profile": "a@example.com", "unique_id": " "}, "unique_id", "non-empty"),
    ({"metric": "M", "profile": "a@example.com", "colour": "red"}, "colour", "Extra inputs"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("fields", "field", "words"), BAD_INPUTS)
async def test_invalid_input_names_the_field_before_any_request(
    events, sandbox, fields, field, words
):
    with pytest.raises(InvalidInputError) as caught:
        await call(events, "track_event", fields)
    assert caught.value.field == field
    assert words in caught.value.problem
    assert isinstance(caught.value, ValueError)
    assert sandbox.account.events == {}
    assert sandbox.faults_seen == []


@pytest.mark.anyio
async def test_track_validates_its_keyword_arguments(events, sandbox):
    with pytest.raises(InvalidInputError, match=r"^value: must be a number"):
        await call(events, "track", "M", "a@example.com", value="12")
    assert sandbox.faults_seen == []


@pytest.mark.anyio
async def test_track_many_names_the_bad_event_and_sends_none(events, sandbox):
    items = [*many(5), {"metric": "M", "profile": "a@example.com", "value": "x"}]
    with pytest.raises(InvalidInputError) as caught:
        await call(events, "track_many", items)
    assert caught.value.field == "events[5].value"
    items = [*many(5), {"metric": "M", "profile": {}}]
    with pytest.raises(InvalidInputError) as caught:
        await call(events, "track_many", items)
    assert caught.value.field == "events[5].profile"
    assert sandbox.faults_seen == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("order", "field"),
    [
        (
            {
                "order_id": "",
                "profile": "a@example.com",
                "items": [{"product_id": "p", "name": "n", "price": 1}],
            },
            "order.order_id",
        ),
        ({"order_id": "o", "profile": "a@example.com", "items": []}, "order.items"),
        (
            {
                "order_id": "o",
                "profile": "a@example.com",
                "items": [{"product_id": "p", "name": "n", "price": "1"}],
            },
            "order.items.0.price",
        ),
        (
            {
                "order_id": "o",
                "profile": "a@example.com",
                "items": [{"product_id": "p", "name": "n", "price": -1}],
            },
            "order.items.0.price",
        ),
        (
            {
                "order_id": "o",
                "profile": "a@example.com",
                "items": [{"product_id": "p", "name": "n", "price": 1, "quantity": 0}],
            },
            "order.items.0.quantity",
        ),
        (
            {
                "order_id": "o",
                "profile": "a@example.com",
                "total": "9",
                "items": [{"product_id": "p", "name": "n", "price": 1}],
            },
            "order.total",
        ),
        (
            {
                "order_id": "o",
                "profile": "bad",
                "items": [{"product_id": "p", "name": "n", "price": 1}],
            },
            "order.profile.email",
        ),
        (
            {
                "order_id": "o",
                "profile": "a@example.com",
                "currency": "dollars",
                "items": [{"product_id": "p", "name": "n", "price": 1}],
            },
            "order.currency",
        ),
    ],
)
async def test_track_purchase_names_the_bad_order_field(events, sandbox, order, field):
    with pytest.raises(InvalidInputError) as caught:
        await call(events, "track_purchase", order)
    assert caught.value.field == field
    assert sandbox.faults_seen == []


@pytest.mark.anyio
async def test_an_event_over_5_mb_is_rejected_before_sending(events, sandbox):
    huge = {f"p{i}": "x" * 100_000 for i in range(60)}
    with pytest.raises(InvalidInputError, match="5 MB"):
        await call(events, "track", "M", "a@example.com", huge)
    assert sandbox.faults_seen == []


def test_client_events_is_cached_and_typed(sandbox):
    client = KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    aclient = AsyncKlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    assert client.events is client.events
    assert isinstance(client.events, Events)
    assert isinstance(aclient.events, AsyncEvents)
    client.close()


def test_every_request_the_events_service_sends_is_safe_to_retry(sandbox):
    seen: list[tuple[str, bool]] = []

    def record(call: OperationCall, proceed: Callable[[], Any]) -> Any:
        seen.append((call.name, is_idempotent(call.operation, call.args, call.kwargs)))
        return proceed()

    settings = KlaviyoSettings(private_key=KEY)
    with KlaviyoClient(settings, transport=sandbox.transport(), stages=[record]) as client:
        client.events.track("Clicked", "ada@example.com")
        client.events.track_purchase(
            {
                "order_id": "o-9",
                "profile": "ada@example.com",
                "items": [{"product_id": "p", "name": "Book", "price": 1}],
            }
        )
        client.events.track_many(many(1001))
        with client.events.background() as sender:
            sender.track("Clicked", "bob@example.com")
    assert [name for name, _ in seen] == ["create_event"] * 2 + ["bulk_create_events"] * 3
    assert all(safe for _, safe in seen)
