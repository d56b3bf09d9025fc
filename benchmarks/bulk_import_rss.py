"""Peak memory of a streamed ``profiles.bulk_import`` of 1,000,000 rows.

The sandbox runs in another process (``python -m klaviyo_kit.sandbox``, limits off: this measures
memory, not pacing); this process streams rows from a generator through ``bulk_import`` and prints
its own peak RSS beside a baseline measured in the same run: the peak RSS after importing the kit
and building one 10,000-row chunk, the most the importer should ever hold at once.

Run: ``python benchmarks/bulk_import_rss.py [--rows 1000000]`` (a few minutes for a million).
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

from klaviyo_kit import KlaviyoClient, KlaviyoSettings

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "pk_" + "bench" * 7
LIMIT_MB = 200


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
    args = parser.parse_args()

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
            report = client.profiles.bulk_import(rows(args.rows), poll_interval=0.05)
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
    return 0 if peak < LIMIT_MB and report.finished else 1


if __name__ == "__main__":
    sys.exit(main())
