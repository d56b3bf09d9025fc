"""Everything on this machine: a sandbox, two prefork workers, 500 events, one job pass.

Run from the repository root: ``python -m examples.celery_app.demo`` (Redis broker) or
``python -m examples.celery_app.demo --broker amqp://guest:guest@127.0.0.1:5672//``.
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

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own modules
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def main() -> int:
    """Run the demo; return 0 when every event was delivered and the job ran."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp()) / "state.sqlite3"
    env = dict(os.environ, BROKER_URL=args.broker, STATE_URL=f"sqlite:///{state}")
    sandbox = _start([sys.executable, "-m", "klaviyo_kit.sandbox", "--port", "0"], env)
    assert sandbox.stdout is not None
    url = sandbox.stdout.readline().rsplit(" ", 1)[-1].strip()
    env["KLAVIYO_BASE_URL"] = url
    os.environ.update(env)  # the web side below reads the same settings
    worker_args = ["-m", "celery", "-A", "examples.celery_app.tasks", "worker", "-c", "2"]
    workers = [
        _start([sys.executable, *worker_args, "-n", f"demo{i}@%h", "-l", "warning"], env)
        for i in range(2)
    ]
    try:
        from examples.celery_app.tasks import make_queue, tasks
        from examples.celery_app.web import deliver_now, track_signups

        from klaviyo_kit.infra import SQLStateStore
        from klaviyo_kit.jobs import load_status

        track_signups([f"user{i}@example.com" for i in range(args.events)])
        deliver_now(3)
        tasks.run_job("heartbeat")
        queue, store = make_queue(), SQLStateStore(f"sqlite:///{state}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if queue.size() == 0 and load_status(store, "heartbeat").last_run is not None:
                break
            time.sleep(0.2)
        status = load_status(store, "heartbeat")
        print(f"sandbox {url}: {queue.size()} events left, {len(queue.dead_letters())} dead")
        print(f"heartbeat: last run {status.last_run}, report {status.last_report}")
        return 0 if queue.size() == 0 and status.last_success else 1
    finally:
        for process in [*workers, sandbox]:
            process.send_signal(signal.SIGTERM)
        for process in [*workers, sandbox]:
            process.wait(30)


if __name__ == "__main__":
    sys.exit(main())
