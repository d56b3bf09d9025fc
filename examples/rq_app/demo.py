"""Everything on this machine: a sandbox, two RQ workers, 500 events, a job every 2 s.

Run from the repository root: ``python -m examples.rq_app.demo``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rq import Queue

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own modules
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _unschedule(queue: Queue) -> None:
    """End the demo's repeating schedule: drop its waiting and scheduled jobs."""
    queue.empty()  # type: ignore[no-untyped-call]
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)


def main() -> int:
    """Run the demo; return 0 when every event was delivered and the job ran twice."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp()) / "state.sqlite3"
    env = dict(os.environ, STATE_URL=f"sqlite:///{state}")
    sandbox = _start([sys.executable, "-m", "klaviyo_kit.sandbox", "--port", "0"], env)
    assert sandbox.stdout is not None
    url = sandbox.stdout.readline().rsplit(" ", 1)[-1].strip()
    env["KLAVIYO_BASE_URL"] = url
    os.environ.update(env)
    from examples.rq_app.tasks import RQ_QUEUE, RQ_REDIS_URL, kit, make_queue, rq_queue

    from klaviyo_kit.infra import SQLStateStore
    from klaviyo_kit.jobs import load_status
    from klaviyo_kit.jobs._delivery_task import enqueue_events

    worker = ["-m", "rq.cli", "worker", "--with-scheduler", "-u", RQ_REDIS_URL, RQ_QUEUE]
    workers = [
        _start([sys.executable, *worker, "-n", f"demo{i}-{os.getpid()}"], env) for i in range(2)
    ]
    try:
        queue, store = make_queue(), SQLStateStore(f"sqlite:///{state}")
        emails = (f"user{i}@example.com" for i in range(args.events))
        enqueue_events(queue, ({"metric": "Signed Up", "profile": e} for e in emails))
        kit.deliver_events(rq_queue(), tasks=3)
        kit.enqueue_job(rq_queue(), "heartbeat", every=2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            passes = int(store.get_cursor("jobs:heartbeat:passes") or 0)
            if queue.size() == 0 and passes >= 2:  # noqa: PLR2004 - the schedule repeated
                break
            time.sleep(0.2)
        status = load_status(store, "heartbeat")
        print(f"sandbox {url}: {queue.size()} events left, {len(queue.dead_letters())} dead")
        print(
            f"heartbeat: {store.get_cursor('jobs:heartbeat:passes')} passes, last {status.last_run}"
        )
        return 0 if queue.size() == 0 and status.last_success else 1
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(30)
        _unschedule(rq_queue())
        for process in [sandbox]:
            process.send_signal(signal.SIGTERM)
        for process in [*workers, sandbox]:
            process.wait(30)


if __name__ == "__main__":
    sys.exit(main())
