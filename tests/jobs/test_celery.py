import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from celery import Celery  # type: ignore[import-untyped]
from tests.jobs._apps.demo import KEY, TrackPagesJob
from tests.jobs._apps.engines import (
    BAD_EVENT,
    assert_stopped_at_a_checkpoint,
    celery_worker,
    fresh_redis,
    queue_events,
    read,
    status_counts,
)
from tests.jobs._apps.procs import ROOT, child_env, served_sandbox, stop, wait_for

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryStateStore, RedisQueue, SQLStateStore
from klaviyo_kit.jobs import load_status
from klaviyo_kit.jobs._lease import StoreLease
from klaviyo_kit.jobs.celery import DELIVER_TASK, beat_schedule, job_task_name, register_tasks
from klaviyo_kit.sandbox import Sandbox

BROKERS = {
    "redis": "redis://127.0.0.1:6379/{db}",
    "amqp": "amqp://guest:guest@127.0.0.1:5672//",
}


@pytest.mark.parametrize(("broker", "db"), [("redis", 12), ("amqp", 13)])
def test_workers_deliver_queued_events_and_run_a_job(broker, db, tmp_path):
    redis_url = fresh_redis(db)
    broker_url = BROKERS[broker].format(db=db + 2)
    if broker == "redis":
        fresh_redis(db + 2)
    queue_name = f"celery-events-{broker}"
    celery_queue = f"kk-test-{broker}-{tmp_path.name}"
    events = queue_events(redis_url, queue_name, 300, tag=broker)
    events.enqueue(BAD_EVENT)
    with served_sandbox(tmp_path) as sandbox:
        env = {
            "KK_BROKER": broker_url,
            "KK_CELERY_QUEUE": celery_queue,
            "KK_SANDBOX_URL": sandbox.url,
            "KK_REDIS_URL": redis_url,
            "KK_EVENTS_QUEUE": queue_name,
            "KK_STATE": str(tmp_path / "state.db"),
            "KK_BATCH": "100",
        }
        log = tmp_path / "worker.log"
        worker = celery_worker("w1", env, log)
        sender = Celery(broker=broker_url)
        try:
            sender.send_task(DELIVER_TASK, queue=celery_queue)
            sender.send_task(job_task_name("track_pages"), queue=celery_queue)
            assert wait_for(lambda: events.size() == 0, 40), read(log)
            store = SQLStateStore(f"sqlite:///{tmp_path / 'state.db'}")
            assert wait_for(lambda: load_status(store, "track_pages").last_run is not None, 20), (
                read(log)
            )
        finally:
            assert stop(worker) == 0, read(log)
            sender.close()
        counts = sandbox.close()
    status = load_status(store, "track_pages")
    assert status.last_report["complete"] is True
    assert status.last_report["counts"] == {"pages": 3}
    assert counts["events"] == 300
    dead = events.dead_letters()
    assert [d.payload for d in dead] == [BAD_EVENT]
    assert "rejected" in dead[0].error or "time" in dead[0].error


def test_a_warm_shutdown_stops_a_long_pass_at_its_checkpoint(tmp_path):
    redis_url = fresh_redis(14)
    broker_url = "redis://127.0.0.1:6379/15"
    fresh_redis(15)
    with served_sandbox(tmp_path) as sandbox:
        env = {
            "KK_BROKER": broker_url,
            "KK_CELERY_QUEUE": "kk-warm-shutdown",
            "KK_SANDBOX_URL": sandbox.url,
            "KK_REDIS_URL": redis_url,
            "KK_EVENTS_QUEUE": "celery-warm-shutdown",
            "KK_STATE": str(tmp_path / "state.db"),
        }
        log = tmp_path / "worker.log"
        worker = celery_worker("warm", env, log, concurrency=1)
        sender = Celery(broker=broker_url)
        try:
            sender.send_task(job_task_name("long_pages"), queue="kk-warm-shutdown")
            assert wait_for(lambda: "page 3" in read(log), 30), read(log)
            os.kill(worker.pid, signal.SIGTERM)  # the main process only: a warm shutdown
            worker.wait(30)  # the pass would run for over an hour without the stop
        finally:
            assert stop(worker) == 0, read(log)
            sender.close()
        counts = sandbox.close()
    assert_stopped_at_a_checkpoint(tmp_path / "state.db", counts, log)


def test_beat_schedule_names_the_tasks():
    schedule = beat_schedule({"track_pages": 60}, deliver_every=5)
    assert schedule["klaviyo-kit-track_pages"]["task"] == "klaviyo_kit.jobs.track_pages"
    assert schedule["klaviyo-kit-track_pages"]["schedule"].total_seconds() == 60
    assert schedule["klaviyo-kit-deliver-events"]["task"] == DELIVER_TASK


def hammer(tmp_path: Path, limiter: str) -> tuple[dict[str, Any], str, RedisQueue]:
    """Deliver 1,500 events with two 3-process workers; return the sandbox counts and logs."""
    redis_url = fresh_redis(9)
    broker_url = "redis://127.0.0.1:6379/10"
    fresh_redis(10)
    queue_name = "celery-hammer"
    events = queue_events(redis_url, queue_name, 1500, tag="hammer")
    with served_sandbox(tmp_path) as sandbox:
        env = {
            "KK_BROKER": broker_url,
            "KK_CELERY_QUEUE": "kk-hammer",
            "KK_SANDBOX_URL": sandbox.url,
            "KK_REDIS_URL": redis_url,
            "KK_EVENTS_QUEUE": queue_name,
            "KK_STATE": str(tmp_path / "state.db"),
            "KK_BATCH": "25",
            "KK_LIMITER": limiter,
        }
        logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
        workers = [celery_worker(f"h{i}", env, log, concurrency=3) for i, log in enumerate(logs)]
        sender = Celery(broker=broker_url)
        try:
            for _ in range(6):
                sender.send_task(DELIVER_TASK, queue="kk-hammer")
            assert wait_for(lambda: events.size() == 0, 45), read(logs[0])
        finally:
            for worker, log in zip(workers, logs, strict=True):
                assert stop(worker) == 0, read(log)
            sender.close()
        counts = sandbox.close()
    return counts, "".join(read(log) for log in logs), events


def test_hammer_two_workers_share_one_budget_and_get_no_429(tmp_path):
    counts, text, events = hammer(tmp_path, "redis")
    assert counts["events"] == 1500
    assert "429" not in status_counts(counts), counts
    assert status_counts(counts)["202"] >= 60
    assert events.dead_letters() == []
    assert "Retry in" in text  # throttled tasks were re-queued with a countdown


def test_without_celery_the_import_error_names_the_extra():
    code = "import sys; sys.modules['celery'] = None; import klaviyo_kit.jobs.celery"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=False
    )
    assert result.returncode == 1
    assert (
        "ImportError: klaviyo_kit.jobs.celery needs Celery: pip install 'klaviyo-kit[celery]'"
        in result.stderr
    )


def test_a_job_task_skips_while_its_lease_is_held_and_records_each_pass():
    sandbox = Sandbox(seed=1)
    store = MemoryStateStore()
    app = Celery("eager", broker="memory://", set_as_current=False)
    app.conf.task_always_eager = True
    tasks = register_tasks(
        app,
        client_factory=lambda: KlaviyoClient(
            KlaviyoSettings(private_key=KEY), transport=sandbox.transport()
        ),
        store_factory=lambda: store,
        jobs={"track_pages": lambda client, store: TrackPagesJob(client, store, pages=2)},
        lease_factory=lambda name: StoreLease(store, name, ttl=30),
    )
    assert tasks.deliver is None
    assert store.claim_delivery("jobs:track_pages:lease", ttl=30)  # another worker's pass
    assert tasks.run_job("track_pages").get() == {"skipped": True}
    assert load_status(store, "track_pages").last_run is None
    store.release_delivery("jobs:track_pages:lease")
    result = tasks.run_job("track_pages").get()
    assert result["complete"] is True
    assert result["counts"] == {"pages": 2}
    assert load_status(store, "track_pages").last_success is not None
    with pytest.raises(RuntimeError, match="queue_factory"):
        tasks.deliver_events()


@pytest.mark.parametrize(
    "broker", ["redis://127.0.0.1:6379/15", "amqp://guest:guest@127.0.0.1:5672//"]
)
def test_the_celery_example_runs_here(broker):
    kit_redis = fresh_redis(15)
    env = child_env(BROKER_URL=broker, KIT_REDIS_URL=kit_redis)
    args = [sys.executable, "-m", "examples.celery_app.demo", "--broker", broker, "--events", "200"]
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=55, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 events left, 0 dead" in result.stdout
