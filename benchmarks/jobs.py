"""Profile sync at Klaviyo's ceiling: N profiles changed on each side, one ``ProfileSyncJob`` pass.

Run: python -m benchmarks.jobs [--profiles 100000] [--scale 1] [--store sqlite|memory] [--quick]

The sandbox enforces Klaviyo's real per-operation windows, ``--scale`` times faster
(``Sandbox(time_scale=...)``; the default 1 is Klaviyo's own pace: a faster clock makes the
ceiling one no client's CPU reaches), and the client's limiter is scaled the same way, so
durations are printed in *Klaviyo seconds* (wall seconds x scale). The job's state is kept in a
SQLite file by default, as a deployment keeps it (``--store memory`` for process memory).

For each operation the job used, the floor is the least time its published limits allow for
the requests it made with none over any window (see :func:`floor_seconds`); the operations are
limited independently but the job runs them one after another, so the pass's floor is their
sum. Reported:

- throughput: the floor over the measured Klaviyo seconds (goal: at least 90%);
- peak RSS of this process (goal: at most 150 MB for 100,000 profiles each way);
- 429s the sandbox answered (a paced client earns none).

The sandbox is served from another process (``python -m klaviyo_kit.sandbox``), so this
process's RSS and CPU are the job's: the client, the SQLite users table and the state store.
When the throughput is low and no 429 was seen, the pass was CPU-bound, not limit-bound.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from benchmarks._report import Measure, add_json_option, emit
from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryStateStore, SQLStateStore, StateStore
from klaviyo_kit.jobs import ProfileSyncJob, SQLProfileSource
from klaviyo_kit.operations import operation_limits
from klaviyo_kit.resilience import BaseHooks, MemoryRateLimiter, RequestEnd

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "pk_" + "j" * 34


class Requests(BaseHooks):
    """Counts requests per operation and the 429s among them."""

    def __init__(self) -> None:
        """Start at zero."""
        self.by_operation: Counter[str] = Counter()
        self.spans: dict[str, tuple[float, float]] = {}
        self.refused = 0

    def on_request_end(self, event: RequestEnd) -> None:
        """Count one attempt and when the operation was first and last seen."""
        self.by_operation[event.operation] += 1
        now = time.perf_counter()
        first, _ = self.spans.get(event.operation, (now, now))
        self.spans[event.operation] = (first, now)
        if event.status == 429:
            self.refused += 1

    def clear(self) -> None:
        """Forget what was counted (the seeding's requests)."""
        self.by_operation.clear()
        self.spans.clear()


def floor_seconds(operation: str, requests: int) -> float:
    """The least Klaviyo seconds ``requests`` calls of ``operation`` take under its limits.

    Klaviyo counts fixed windows (1 s and 60 s). A client that cannot see where the server's
    windows start and must never exceed them keeps any 60 s (and any 1 s) within the limits:
    a sliding bound. For 1,000 calls at 75/s and 750/min that is 63.3 s: 750 in the first 10 s,
    the rest as the first ones leave the minute. (A client that knew the phase could do
    better by starting just before a window turns.)
    """
    limits = operation_limits(operation)
    times: list[float] = []
    for i in range(requests):
        at = times[-1] if times else 0.0
        if i >= limits.burst:
            at = max(at, times[i - limits.burst] + 1)
        if i >= limits.steady:
            at = max(at, times[i - limits.steady] + 60)
        times.append(at)
    return times[-1] if times else 0.0


def _wal(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def users(engine: sa.Engine) -> sa.Table:
    """Create the host application's users table."""
    metadata = sa.MetaData()
    table = sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(255)),
        sa.Column("first_name", sa.String(255)),
        sa.Column("last_name", sa.String(255)),
        sa.Column("phone", sa.String(32)),
        sa.Column("properties", sa.JSON),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("users_updated", "updated_at", "id"),
        sa.Index("users_email", "email"),
    )
    metadata.create_all(engine)
    return table


@contextlib.contextmanager
def served_sandbox(scale: float) -> Iterator[str]:
    """Serve a sandbox in another process (its CPU and memory are not the job's); yield its URL."""
    command = [sys.executable, "-m", "klaviyo_kit.sandbox", "--port", "0", "--seed", "1"]
    process = subprocess.Popen(
        [*command, "--time-scale", str(scale)], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise SystemExit(f"the sandbox did not start: {line!r}")
        yield line.rsplit("listening on ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(10)


def store(kind: str, folder: Path) -> StateStore:
    """The job's state store: a SQLite file (as a deployment keeps it) or process memory."""
    if kind == "memory":
        return MemoryStateStore()
    return SQLStateStore(f"sqlite:///{folder / 'state.sqlite3'}")


def seed(folder: Path, url: str, scale: float, profiles: int) -> sa.Engine:
    """Seed ``profiles`` users in a SQLite app database in ``folder`` and as many in Klaviyo."""
    engine = sa.create_engine(f"sqlite:///{folder / 'app.sqlite3'}")
    # The host app's database as such an app runs SQLite: WAL, fsync at checkpoints. The
    # source commits each applied row (so a kill loses nothing): with the default rollback
    # journal every commit is an fsync and the pass measures the disk, not the kit.
    sa.event.listen(engine, "connect", _wal)
    table = users(engine)
    stamp = datetime.now(timezone.utc) - timedelta(hours=1)
    with engine.begin() as conn:
        # Through the typed table, as the application writes its rows: SQLite keeps times as
        # text, and a raw driver insert would store another format (with "+00:00").
        conn.execute(
            sa.insert(table),
            [
                {
                    "email": f"l{i}@example.com",
                    "first_name": f"L{i}",
                    "properties": {},
                    "updated_at": stamp,
                }
                for i in range(profiles)
            ],
        )
    settings = KlaviyoSettings(private_key=KEY, base_url=url)
    limiter = MemoryRateLimiter(
        settings.account_fingerprint, burst_window=1 / scale, steady_window=60 / scale
    )
    with KlaviyoClient(settings, limiter=limiter) as client:
        seeded = client.profiles.bulk_import(
            ({"email": f"k{i}@example.com", "first_name": f"K{i}"} for i in range(profiles)),
            poll_interval=1 / scale,
        )
    assert seeded.completed == profiles  # noqa: S101 - a benchmark's precondition
    return engine


def run(
    profiles: int, scale: float, store_kind: str = "sqlite", push_batch: int = 10_000
) -> list[Measure]:
    """Seed both sides, run one pass, print the measures and return them."""
    hooks = Requests()
    with tempfile.TemporaryDirectory() as folder, served_sandbox(scale) as url:
        engine = seed(Path(folder), url, scale, profiles)
        settings = KlaviyoSettings(private_key=KEY, base_url=url)
        limiter = MemoryRateLimiter(
            settings.account_fingerprint, burst_window=1 / scale, steady_window=60 / scale
        )
        with KlaviyoClient(settings, limiter=limiter, hooks=(hooks,)) as client:
            hooks.clear()
            job = ProfileSyncJob(
                client,
                store(store_kind, Path(folder)),
                SQLProfileSource(engine, "users"),
                poll_interval=1 / scale,
                page_size=100,
                push_batch=push_batch,
            )
            start = time.perf_counter()
            report = job.run()
            wall = time.perf_counter() - start
        engine.dispose()
    klaviyo_seconds = wall * scale
    floor = sum(floor_seconds(op, n) for op, n in hooks.by_operation.items())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"profile sync, {profiles:,} profiles each way, time scale {scale:g},"
        f" {store_kind} state store"
    )
    print(f"  report: ok={report.ok} counts={dict(report.counts)}")
    for operation, count in sorted(hooks.by_operation.items()):
        first, last = hooks.spans[operation]
        least = floor_seconds(operation, count)
        print(
            f"  {operation:<30} {count:>6} requests, floor {least:6.1f} s,"
            f" from {(first - start) * scale:7.1f} to {(last - start) * scale:7.1f} s"
        )
    print(f"  pass: {klaviyo_seconds:,.1f} Klaviyo s ({wall:.1f} wall s); floor {floor:,.1f} s")
    if floor < 1:
        print("  throughput: n/a: the requests fit in one burst (use more profiles)")
    else:
        print(f"  throughput: {floor / klaviyo_seconds:.0%} of the ceiling (goal >= 90%)")
    print(f"  peak RSS: {rss_mb:.0f} MB (goal <= 150 MB at 100,000 each way)")
    print(f"  429s: {hooks.refused}")
    if not report.ok or report.counts.get("pulled") != profiles:
        raise SystemExit(f"the pass did not sync everything: {report}")
    if report.counts.get("pushed") != profiles:
        raise SystemExit(f"the pass did not push everything: {report}")
    return [
        Measure(
            f"profile sync, {profiles:,} each way, time scale {scale:g}",
            klaviyo_seconds,
            floor,
            "Klaviyo s",
            ">= 90% of the ceiling (floor / pass)",
            floor >= 0.9 * klaviyo_seconds if floor >= 1 else None,
        ),
        Measure(
            f"profile sync, {profiles:,} each way, peak RSS",
            rss_mb,
            None,
            "MB",
            "<= 150 MB",
            rss_mb <= 150,
        ),
    ]


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument(
        "--push-batch", type=int, default=10_000, help="rows per push page (one import job)"
    )
    parser.add_argument("--quick", action="store_true", help="a CI smoke: 2,000 each way")
    add_json_option(parser)
    options = parser.parse_args()
    measures = run(
        2_000 if options.quick else options.profiles,
        options.scale,
        options.store,
        options.push_batch,
    )
    emit(options.json, measures)


if __name__ == "__main__":
    main()
