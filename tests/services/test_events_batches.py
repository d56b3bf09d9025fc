"""Bulk bodies (grouping, 1,000 events, 5 MB, error pointers) and the sender's pacer."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from klaviyo_kit.operations import Limits
from klaviyo_kit.services._event_batches import MAX_BULK_EVENTS, chunk_events
from klaviyo_kit.services._event_inputs import prepare_events
from klaviyo_kit.services._pacing import WindowPacer
from klaviyo_kit.services._validate import MAX_PAYLOAD_BYTES, json_size

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def attributes(count: int, profiles: int = 3, blob: str = "") -> list[tuple[int, Any]]:
    items = [
        {
            "metric": "M",
            "profile": f"u{i % profiles}@example.com",
            "properties": {"n": i, "b": blob},
        }
        for i in range(count)
    ]
    return list(enumerate(attrs for attrs, _ in prepare_events(items, NOW)))


def test_events_of_one_profile_share_an_entry_and_keep_their_order():
    [chunk] = chunk_events(attributes(7, profiles=3))
    body: Any = chunk.body()
    entries = body["data"]["attributes"]["events-bulk-create"]["data"]
    assert len(entries) == 3
    assert chunk.tags == [[0, 3, 6], [1, 4], [2, 5]]
    first = entries[0]["attributes"]
    assert first["profile"]["data"]["attributes"] == {"email": "u0@example.com"}
    assert [e["attributes"]["properties"]["n"] for e in first["events"]["data"]] == [0, 3, 6]
    assert "profile" not in first["events"]["data"][0]["attributes"]
    assert chunk.all_tags() == [0, 3, 6, 1, 4, 2, 5]


@pytest.mark.parametrize(("count", "sizes"), [(999, [999]), (1000, [1000]), (1001, [1000, 1])])
def test_a_chunk_holds_at_most_1000_events(count, sizes):
    chunks = list(chunk_events(attributes(count)))
    assert [chunk.count for chunk in chunks] == sizes
    assert max(sizes) <= MAX_BULK_EVENTS


def test_a_chunk_stays_under_5_mb():
    chunks = list(chunk_events(attributes(120, blob="x" * 95_000)))
    assert len(chunks) == 3
    assert all(json_size(chunk.body()) <= MAX_PAYLOAD_BYTES for chunk in chunks)
    assert sum(chunk.count for chunk in chunks) == 120


def test_pointers_blame_an_event_or_a_whole_profile_entry():
    [chunk] = chunk_events(attributes(7, profiles=3))
    base = "/data/attributes/events-bulk-create/data"
    assert chunk.tags_blamed_by([f"{base}/0/attributes/events/data/1/attributes/value"]) == {3}
    assert chunk.tags_blamed_by([f"{base}/1/attributes/events/1/properties"]) == {4}
    assert chunk.tags_blamed_by([f"{base}/2/attributes/profile/data/attributes/email"]) == {2, 5}
    dotted = "1.data.attributes.events-bulk-create.data.0.attributes.events.data.2.attributes.time"
    assert chunk.tags_blamed_by([dotted]) == {6}
    assert chunk.tags_blamed_by(["/data/attributes", "", f"{base}/9/attributes"]) == set()


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_pacer_keeps_every_window_under_its_limit_and_honours_pauses():
    fake = FakeTime()
    pacer = WindowPacer(Limits(burst=2, steady=3), clock=fake.clock, sleep=fake.sleep)
    assert pacer.acquire() == 0
    assert pacer.acquire() == 0
    assert pacer.acquire() == pytest.approx(1.0)  # the 1 s window was full
    assert pacer.acquire() == pytest.approx(59.0)  # the 60 s window was full
    pacer.pause(5)
    assert pacer.acquire() == pytest.approx(5.0)
    assert fake.slept == pytest.approx([1.0, 59.0, 5.0])
