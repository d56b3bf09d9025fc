"""Peak memory of a streamed ``profiles.bulk_import`` of 1,000,000 rows.

The sandbox runs in another process (``python -m klaviyo_kit.sandbox``, limits off: this measures
memory, not pacing); this process streams rows from a generator through ``bulk_import`` and prints
its own peak RSS beside a baseline measured in the same run: the peak RSS after importing the kit
and building one 10,000-row chunk, the most the importer should ever hold at once.

Run: ``python -m benchmarks.bulk_import_rss [--rows 1000000]`` (a few minutes for a million).
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx

from benchmarks._report import Measure, add_json_option, emit
from klaviyo_kit import KlaviyoClient, KlaviyoSettings

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "pk_" + "bench" * 7
LIMIT_MB = 200
GOAL_MB = 64
"""Issue 12's goal for the peak RSS of a 1,000,000-row import."""
BEFORE_ROWS_PER_S = 5_587
"""Rows/s of the import through the SDK's request models (recorded before the document path)."""


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows(count: int) -> Iterator[dict[str, object]]:
    """Yield ``count`` distinct profiles, one at a time."""
    for i in range(count):
        yield {
            "email": f"user{i}@example.com",
            "first_name": f"User {i}",
            "properties": {"n": i, "plan": "pro" if i % 3 else "free"},
        }


def wait_for(url: str, deadline: float) -> None:
    """Wait until the sandbox answers HTTP."""
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/api/accounts", timeout=1)
        except httpx.TransportError:  # noqa: PERF203 - polling until the server is up
            time.sleep(0.1)
        else:
            return
    msg = f"the sandbox at {url} did not start"
    raise RuntimeError(msg)


def main() -> int:
    """Import the rows and print peak RSS against the one-chunk baseline and the 200 MB bar."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a smoke: 50,000 rows")
    add_json_option(parser)
    args = parser.parse_args()
    count = 50_000 if args.quick else args.rows

    one_chunk = list(rows(10_000))
    baseline = peak_rss_mb()
    del one_chunk

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "klaviyo_kit.sandbox", "--port", str(port), "--no-rate-limits"],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url, time.monotonic() + 30)
        settings = KlaviyoSettings(private_key=KEY, base_url=url, rate_limit={"enabled": False})
        started = time.perf_counter()
        with KlaviyoClient(settings) as client:
            report = client.profiles.bulk_import(rows(count), poll_interval=0.05)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    peak = peak_rss_mb()
    print(f"rows imported           {report.completed:>12,} of {report.rows:,} in {elapsed:.1f}s")
    print(f"bulk import jobs        {len(report.job_ids):>12,}")
    print(f"rows per second         {report.completed / elapsed:>12,.0f}")
    print(f"baseline peak RSS       {baseline:>12.1f} MiB (kit imported, one 10,000-row chunk)")
    print(f"importer peak RSS       {peak:>12.1f} MiB ({peak / baseline:.2f}x the baseline)")
    verdict = "under" if peak < LIMIT_MB else "OVER"
    print(f"bar                     {LIMIT_MB:>12} MiB: {verdict}")
    emit(
        args.json,
        [
            Measure(
                f"bulk import of {count:,} rows, peak RSS",
                peak,
                baseline,
                "MiB",
                f"<= {GOAL_MB} MiB",
                peak <= GOAL_MB,
            ),
            Measure(
                f"bulk import of {count:,} rows, rate",
                report.completed / elapsed,
                BEFORE_ROWS_PER_S,
                "rows/s",
                f">= 2x {BEFORE_ROWS_PER_S:,} rows/s (the SDK-model path, measured before)",
                report.completed / elapsed >= 2 * BEFORE_ROWS_PER_S,
            ),
        ],
    )
    return 0 if peak < LIMIT_MB and report.finished else 1


if __name__ == "__main__":
    sys.exit(main())
