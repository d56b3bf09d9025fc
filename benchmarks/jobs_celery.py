"""Profile sync on 1 vs 4 Celery worker processes: the shared ceiling, not 4x, is the bound.

Run: python -m benchmarks.jobs_celery [--profiles 100000] [--scale 1] [--workers 1 4]

For each worker count N: seed both sides afresh (as ``benchmarks/jobs.py`` does), start a
``celery worker -c N`` of ``benchmarks/_celery_sync_app.py`` (Redis broker, the shared Redis
limiter, the sandbox in another process with Klaviyo's limits), send N sync tasks at once (a
beat and impatient operators), and time until the job's status records a successful pass.
The job's lease lets one process make the pass and the others skip it; every request of every
process goes through the one Redis limiter and is counted by status in Redis. Expected: the
pass takes as long with 4 processes as with 1 (its requests are bounded by Klaviyo's limits,
which 4 processes share), 0 x 429, N - 1 tasks skipped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from celery import Celery  # type: ignore[import-untyped]

from benchmarks._report import Measure, add_json_option, emit
from benchmarks.jobs import seed, served_sandbox
from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.jobs import load_status
from klaviyo_kit.jobs.celery import job_task_name

ROOT = Path(__file__).resolve().parents[1]
REDIS = "redis://127.0.0.1:6379/7"
BROKER = "redis://127.0.0.1:6379/8"
COUNTS = "bench:jobs-celery:statuses"


def one(workers: int, profiles: int, scale: float, timeout: float = 3600) -> dict[str, float]:
    """Run one sync on ``workers`` processes; return its measures."""
    for url in (REDIS, BROKER):
        redis.Redis.from_url(url).flushdb()
    with tempfile.TemporaryDirectory() as folder, served_sandbox(scale) as url:
        seed(Path(folder), url, scale, profiles).dispose()
        redis.Redis.from_url(REDIS).delete(COUNTS)  # the seeding's requests are not counted
        state = Path(folder) / "state.sqlite3"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "BENCH_BROKER": BROKER,
            "BENCH_REDIS": REDIS,
            "BENCH_SANDBOX": url,
            "BENCH_APP_DB": str(Path(folder) / "app.sqlite3"),
            "BENCH_STATE_DB": str(state),
            "BENCH_SCALE": str(scale),
        }
        log = (Path(folder) / "worker.log").open("w")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "benchmarks._celery_sync_app",
                "worker",
                "--pool=prefork",
                "-c",
                str(workers),
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        sender = Celery(broker=BROKER)
        try:
            time.sleep(2.0)  # the worker's processes start
            start = time.perf_counter()
            for _ in range(workers):
                sender.send_task(job_task_name("profile_sync"))
            store = SQLStateStore(f"sqlite:///{state}")
            deadline = time.monotonic() + timeout
            while load_status(store, "profile_sync").last_success is None:
                failed = load_status(store, "profile_sync").last_report
                late = time.monotonic() > deadline
                if worker.poll() is not None or (failed and failed.get("errors")) or late:
                    raise SystemExit(
                        f"the pass failed: {failed}\n{Path(log.name).read_text()[-3000:]}"
                    )
                time.sleep(0.2)
            wall = time.perf_counter() - start
            report = load_status(store, "profile_sync").last_report or {}
        finally:
            worker.terminate()
            worker.wait(30)
            sender.close()
            log.close()
        counter = redis.Redis.from_url(REDIS, decode_responses=True)
        statuses = {str(k): int(v) for k, v in counter.hgetall(COUNTS).items()}
    counts = report.get("counts", {})
    assert isinstance(counts, dict)  # noqa: S101 - a report's shape
    if counts.get("pulled") != profiles or counts.get("pushed") != profiles:
        raise SystemExit(f"the pass did not sync everything: {report}")
    return {
        "seconds": wall * scale,
        "requests": sum(statuses.values()),
        "refused": statuses.get("429", 0),
    }


def main() -> None:
    """Parse the options, run each worker count, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--quick", action="store_true", help="a smoke: 2,000 each way")
    add_json_option(parser)
    options = parser.parse_args()
    profiles = 2_000 if options.quick else options.profiles
    print(f"profile sync on Celery, {profiles:,} each way, time scale {options.scale:g}")
    results = {
        n: one(n, profiles, options.scale, 60 if options.quick else 3600) for n in options.workers
    }
    base = results[options.workers[0]]["seconds"]
    for n, result in results.items():
        print(
            f"  {n} worker process(es): pass {result['seconds']:7.1f} Klaviyo s"
            f" ({result['seconds'] / base:.2f}x of {options.workers[0]}),"
            f" {result['requests']:.0f} requests, {result['refused']:.0f} x 429"
        )
    last = results[options.workers[-1]]
    emit(
        options.json,
        [
            Measure(
                f"profile sync on {options.workers[-1]} vs {options.workers[0]} Celery processes",
                last["seconds"],
                base,
                "Klaviyo s",
                "0.8-1.25x (the shared ceiling bounds it) and 0 x 429",
                0.8 <= last["seconds"] / base <= 1.25
                and all(r["refused"] == 0 for r in results.values()),
            )
        ],
    )


if __name__ == "__main__":
    main()
