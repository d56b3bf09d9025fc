import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from rq import Queue
from tests.jobs._apps.engines import (
    BAD_EVENT,
    assert_stopped_at_a_checkpoint,
    fresh_redis,
    queue_events,
    read,
    status_counts,
)
from tests.jobs._apps.procs import ROOT, child_env, served_sandbox, start, stop, wait_for
from tests.jobs._apps.rq_app import kit

from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.jobs import load_status
from klaviyo_kit.jobs.rq import RQKit

WORKER_CLASSES = ["tests.jobs._apps.rq_preload.PreloadedWorker", "rq.worker.SimpleWorker"]


def rq_worker(
    name: str, redis_url: str, queue: str, *, env: dict[str, str], log: Path, worker_class: str
) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "--with-scheduler",
        "-w",
        worker_class,
        "-u",
        redis_url,
        "-n",
        name,
        queue,
    ]
    return start(args, log.open("w"), **env)


def test_rq_workers_deliver_events_with_countdowns_and_run_a_repeating_job(tmp_path):
    redis_url = fresh_redis(14)
    events = queue_events(redis_url, "rq-events", 600, tag="rq")
    events.enqueue(BAD_EVENT)
    state = tmp_path / "state.db"
    with served_sandbox(tmp_path) as sandbox:
        env = {
            "KK_SANDBOX_URL": sandbox.url,
            "KK_REDIS_URL": redis_url,
            "KK_EVENTS_QUEUE": "rq-events",
            "KK_STATE": str(state),
            "KK_BATCH": "20",
        }
        logs = [tmp_path / "rq1.log", tmp_path / "rq2.log"]
        workers = [
            rq_worker(
                f"rq{i}-{tmp_path.name}",
                redis_url,
                "kk-rq",
                env=env,
                log=log,
                worker_class=WORKER_CLASSES[i],
            )
            for i, log in enumerate(logs)
        ]
        rq_queue = Queue("kk-rq", connection=redis.Redis.from_url(redis_url))
        try:
            kit.deliver_events(rq_queue, tasks=4)
            kit.enqueue_job(rq_queue, "track_pages", every=1)
            assert wait_for(lambda: events.size() == 0, 45), read(logs[0])
            store = SQLStateStore(f"sqlite:///{state}")
            assert wait_for(lambda: load_status(store, "track_pages").last_run is not None, 20), (
                read(logs[0])
            )
            first = load_status(store, "track_pages").last_run
            assert wait_for(lambda: load_status(store, "track_pages").last_run != first, 20), read(
                logs[0]
            )  # repeated
        finally:
            for worker, log in zip(workers, logs, strict=True):
                stop(worker)
                assert "Traceback" not in read(log), read(log)
        counts = sandbox.close()
    assert counts["events"] == 600
    assert "429" not in status_counts(counts), counts
    assert load_status(store, "track_pages").last_report["counts"] == {"pages": 3}
    dead = events.dead_letters()
    assert [d.payload for d in dead] == [BAD_EVENT]
    assert all("deliver_events" in read(log) for log in logs)  # the forking and the simple worker


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_a_warm_shutdown_stops_a_long_pass_at_its_checkpoint(tmp_path, worker_class):
    redis_url = fresh_redis(13)
    state = tmp_path / "state.db"
    with served_sandbox(tmp_path) as sandbox:
        env = {
            "KK_SANDBOX_URL": sandbox.url,
            "KK_REDIS_URL": redis_url,
            "KK_EVENTS_QUEUE": "rq-warm",
            "KK_STATE": str(state),
        }
        log = tmp_path / "rq.log"
        worker = rq_worker(
            f"warm-{tmp_path.name}",
            redis_url,
            "kk-warm",
            env=env,
            log=log,
            worker_class=worker_class,
        )
        try:
            kit.enqueue_job(
                Queue("kk-warm", connection=redis.Redis.from_url(redis_url)), "long_pages"
            )
            assert wait_for(lambda: "page 3" in read(log), 30), read(log)
            os.kill(worker.pid, signal.SIGTERM)  # the worker only: a warm shutdown
            worker.wait(30)  # the pass would run for over an hour without the stop
        finally:
            stop(worker)
        counts = sandbox.close()
    assert worker.returncode == 0, read(log)
    assert_stopped_at_a_checkpoint(state, counts, log)


def test_without_rq_the_import_error_names_the_extra():
    code = "import sys; sys.modules['rq'] = None; import klaviyo_kit.jobs.rq"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=False
    )
    assert result.returncode == 1
    assert (
        "ImportError: klaviyo_kit.jobs.rq needs RQ: pip install 'klaviyo-kit[rq]'" in result.stderr
    )


def test_a_kit_path_must_name_module_and_attribute():
    with pytest.raises(ValueError, match="module:attribute"):
        RQKit(
            "tests.jobs._apps.rq_app",
            client_factory=kit.resources.client,
            store_factory=kit.resources.store,
            jobs={},
        )


def test_the_rq_example_runs_here():
    url = fresh_redis(15)
    env = child_env(RQ_REDIS_URL=url, KIT_REDIS_URL=url)
    args = [sys.executable, "-m", "examples.rq_app.demo", "--events", "200"]
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=55, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 events left, 0 dead" in result.stdout
