"""Peak memory of ``MetricsExportJob`` exporting 1,000,000 events to a JSONL (or CSV, SQLite) sink.

Klaviyo is played by an ``httpx.MockTransport`` that makes each ``get_events`` page of 1,000
synthetic events when it is asked for, so nothing but the export holds them. Every page goes
through the real client (pipeline, SDK call, error translation) and the job's own loop (parse,
dedup, write, checkpoint). The script prints this process's peak RSS after a 1-page export (the
baseline: the kit imported, one page in flight) and after the whole export, and fails if the
difference exceeds the limit.

Run: ``python -m benchmarks.export_memory [--events 1000000] [--sink jsonl|csv|sqlite]``;
``--quick`` exports 100,000 events (about a minute less).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.jobs._metrics_export import MetricsExportJob
from klaviyo_kit.jobs._sinks import CSVSink, JSONLSink, Sink
from klaviyo_kit.jobs._sinks_sql import SQLSink

KEY = "pk_" + "bench" * 7
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PAGE = 1000
LIMIT_MB = 60


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fake_klaviyo(total: int) -> httpx.MockTransport:
    """Answer ``get_metric`` and ``get_events`` pages of ``total`` synthetic events."""
    metric = {"data": {"type": "metric", "id": "M1", "attributes": {"name": "Placed Order"}}}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/metrics/"):
            return httpx.Response(200, json=metric)
        query = parse_qs(urlsplit(str(request.url)).query)
        first = int(query.get("page[cursor]", ["0"])[0])
        last = min(first + PAGE, total)
        data = [
            {
                "type": "event",
                "id": f"EV{n:012d}",
                "attributes": {
                    "timestamp": int(T0.timestamp()) + n,
                    "datetime": (T0 + timedelta(seconds=n)).isoformat(),
                    "uuid": f"00000000-0000-0000-0000-{n:012d}",
                    "event_properties": {"$value": n % 100, "OrderId": f"o{n}"},
                },
                "relationships": {"profile": {"data": {"type": "profile", "id": f"P{n % 9999}"}}},
            }
            for n in range(first, last)
        ]
        links = {"self": str(request.url)}
        if last < total:
            params = {k: v[0] for k, v in query.items()} | {"page[cursor]": str(last)}
            links["next"] = (
                f"{request.url.scheme}://{request.url.host}/api/events?{urlencode(params)}"
            )
        body = json.dumps({"data": data, "links": links}).encode()
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)


def make_sink(kind: str, directory: Path) -> Sink:
    """Build the sink to export into."""
    if kind == "csv":
        return CSVSink(directory)
    if kind == "sqlite":
        return SQLSink(f"sqlite:///{directory / 'export.db'}")
    return JSONLSink(directory)


def export(events: int, kind: str, directory: Path) -> tuple[int, float]:
    """Export ``events`` events; return how many were written and the seconds it took."""
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    with KlaviyoClient(settings, transport=fake_klaviyo(events)) as client:
        job = MetricsExportJob(
            client,
            MemoryStateStore(),
            make_sink(kind, directory),
            metric_ids=["M1"],
            start=T0,
            timezone="UTC",
            aggregates=False,
        )
        began = time.perf_counter()
        report = job.run()
        if not report.ok:
            raise SystemExit(f"export failed: {report.errors}")
        return report.counts["events_exported"], time.perf_counter() - began


def main() -> int:
    """Run the benchmark and print the peak RSS growth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sink", choices=["jsonl", "csv", "sqlite"], default="jsonl")
    parser.add_argument("--quick", action="store_true", help="export 100,000 events")
    args = parser.parse_args()
    total = 100_000 if args.quick else args.events
    with tempfile.TemporaryDirectory() as tmp:
        export(PAGE, args.sink, Path(tmp) / "baseline")
        baseline = peak_rss_mb()
        written, seconds = export(total, args.sink, Path(tmp) / "full")
        peak = peak_rss_mb()
        size = sum(p.stat().st_size for p in (Path(tmp) / "full").rglob("*") if p.is_file()) / 2**20
    growth = peak - baseline
    print(
        f"{written:,} events to {args.sink} ({size:,.0f} MiB) in {seconds:,.1f} s: "
        f"peak RSS {peak:,.1f} MiB, baseline {baseline:,.1f} MiB, growth {growth:,.1f} MiB "
        f"(limit {LIMIT_MB} MiB)"
    )
    if written != total:
        print(f"expected {total:,} events", file=sys.stderr)
        return 1
    return 0 if growth <= LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
