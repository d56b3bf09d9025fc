"""Memory stays flat: synthetic events stream through the export path page by page.

The pages come from a generator (no sandbox holding them), go through the job's own per-page
loop (parse, dedup, write, checkpoint) into a real sink, and ``tracemalloc`` bounds the peak:
it must not grow with the number of events exported.
"""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.jobs import never_stop
from klaviyo_kit.jobs._metrics_export import MetricsExportJob, _Counts
from klaviyo_kit.jobs._sinks import CSVSink, JSONLSink
from klaviyo_kit.jobs._sinks_sql import SQLSink
from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from klaviyo_kit.infra import JSONValue
    from klaviyo_kit.jobs._sinks import Sink

KEY = "pk_" + "f6" * 17
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PAGE = 1000
MiB = 1024 * 1024


def pages(events: int, *, start: int = 0) -> Iterator[list[dict[str, JSONValue]]]:
    """Yield ``events`` synthetic ``get_events`` resources a page at a time, one second apart."""
    base = int(T0.timestamp())
    properties: dict[str, JSONValue] = {"$value": 12.5, "OrderId": "o1", "Items": ["a", "b"]}
    profile: dict[str, JSONValue] = {"profile": {"data": {"type": "profile", "id": "P1"}}}
    for first in range(start, start + events, PAGE):
        page: list[dict[str, JSONValue]] = []
        for n in range(first, min(first + PAGE, start + events)):
            days, rest = divmod(n, 86_400)
            stamp = f"2026-{1 + days // 28:02d}-{1 + days % 28:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}+00:00"
            attributes: dict[str, JSONValue] = {
                "timestamp": base + n,
                "datetime": stamp,
                "event_properties": properties,
            }
            page.append(
                {
                    "type": "event",
                    "id": f"EV{n:012d}",
                    "attributes": attributes,
                    "relationships": profile,
                }
            )
        yield page


def export(
    sink: Sink, store: MemoryStateStore, events: int, *, start: int = 0
) -> tuple[_Counts, int]:
    """Run the job's events loop over synthetic pages; return its counts and the traced peak."""
    with KlaviyoClient(
        KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False}),
        transport=Sandbox(seed=1, rate_limits=False).transport(),
    ) as client:
        job = MetricsExportJob(client, store, sink, metric_ids=["M1"], start=T0)
        counts = _Counts()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            job._export_events("M1", pages(events, start=start), counts, never_stop, start=T0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return counts, peak


def sink_of(kind: str, directory: Path) -> Sink:
    if kind == "jsonl":
        return JSONLSink(directory)
    if kind == "csv":
        return CSVSink(directory)
    return SQLSink(f"sqlite:///{directory}.db")


@pytest.mark.parametrize(
    ("kind", "events"), [("jsonl", 100_000), ("csv", 40_000), ("sqlite", 40_000)]
)
def test_memory_stays_flat_as_events_stream_through_the_sink(tmp_path, kind, events):
    # tracemalloc makes every allocation slow: the counts keep each case well under 20 s on a
    # busy machine. benchmarks/export_memory.py runs 1,000,000 events through the same path.
    _, small_peak = export(sink_of(kind, tmp_path / "small"), MemoryStateStore(), 4_000)
    store = MemoryStateStore()
    big_sink = sink_of(kind, tmp_path / "big")
    counts, peak = export(big_sink, store, events)
    assert counts.events_exported == events
    assert counts.duplicates_skipped == 0
    # Ten to twenty-five times the events, the same memory: one page, the overlap's ids and the
    # sink's buffers. Holding the events would take over 50 MiB (about 1 KiB each).
    assert peak < 10 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert peak < small_peak * 1.5 + 1 * MiB, (peak / MiB, small_peak / MiB)
    # The next run re-reads the overlap (ten minutes, 600 events) and skips every one of them.
    again, _ = export(big_sink, store, 1_000, start=events - 600)
    assert again.events_exported == 400
    assert again.duplicates_skipped == 600
