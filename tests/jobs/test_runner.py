import signal
import sys
import threading
import time
from typing import Any

import pytest
import redis
from tests.jobs._apps.demo import TrackPagesJob, client_for
from tests.jobs._apps.procs import served_sandbox, start, stop

from klaviyo_kit.infra import MemoryStateStore, SQLStateStore
from klaviyo_kit.jobs import JobReport, load_status
from klaviyo_kit.jobs._job import utcnow
from klaviyo_kit.jobs._lease import RedisLease, StoreLease
from klaviyo_kit.jobs._runner import JobRunner

REDIS_URL = "redis://127.0.0.1:6379/11"


class OverlapJob:
    """A job that notes how many of its passes run at the same time."""

    name = "overlap"

    def __init__(self, state) -> None:
        self.state = state

    def run(self, *, should_stop=lambda: False):
        started = utcnow()
        with self.state["lock"]:
            self.state["active"] += 1
            self.state["most"] = max(self.state["most"], self.state["active"])
        time.sleep(0.05)
        with self.state["lock"]:
            self.state["active"] -= 1
            self.state["passes"] += 1
        return JobReport(self.name, started, utcnow(), counts={"pages": 1})


@pytest.fixture
def sandbox(tmp_path):
    with served_sandbox(tmp_path) as served:
        yield served


@pytest.mark.parametrize("kind", ["store", "redis"])
def test_two_runners_never_run_the_job_at_once(kind, tmp_path):
    store = SQLStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state: dict[str, Any] = {"lock": threading.Lock(), "active": 0, "most": 0, "passes": 0}
    job = OverlapJob(state)
    client = redis.Redis.from_url(REDIS_URL)
    client.delete("klaviyo_kit:jobs:overlap:lease")

    def lease() -> StoreLease | RedisLease:
        return (
            StoreLease(store, job.name, ttl=5)
            if kind == "store"
            else RedisLease(client, job.name, ttl=5)
        )

    runners = [JobRunner(job, store, lease=lease(), handle_signals=False) for _ in range(2)]
    threads = [
        threading.Thread(target=r.run_every, args=(0.0,), kwargs={"passes": 40}) for r in runners
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert state["most"] == 1
    assert state["passes"] >= 20  # both took turns; skipped passes are not run
    status = load_status(store, "overlap")
    assert status.last_success is not None
    assert status.last_report["counts"] == {"pages": 1}


def test_redis_lease_renews_and_only_its_holder_releases():
    client = redis.Redis.from_url(REDIS_URL)
    client.delete("klaviyo_kit:jobs:renew:lease")
    first, second = RedisLease(client, "renew", ttl=0.3), RedisLease(client, "renew", ttl=0.3)
    assert first.acquire()
    assert not second.acquire()
    time.sleep(0.2)
    assert first.renew()
    time.sleep(0.2)
    assert not second.acquire()  # renewed: still held
    second.release()  # not the holder: nothing happens
    assert not second.acquire()
    first.release()
    assert second.acquire()
    assert not first.renew()
    second.release()


def test_a_lost_lease_stops_the_pass(tmp_path):
    store = MemoryStateStore()
    seen = []

    class Watching:
        name = "watching"

        def run(self, *, should_stop=lambda: False):
            started = utcnow()
            while not should_stop():
                time.sleep(0.01)
            seen.append(True)
            return JobReport(self.name, started, utcnow(), complete=False)

    lease = StoreLease(store, "watching", ttl=0.3, margin=0.5)
    report = JobRunner(Watching(), store, lease=lease, handle_signals=False).run_once()
    assert report is not None
    assert not report.complete
    assert seen == [True]


def test_a_failing_job_is_recorded_and_raised():
    store = MemoryStateStore()

    class Broken:
        name = "broken"

        def run(self, *, should_stop=lambda: False):
            raise RuntimeError("boom")

    runner = JobRunner(Broken(), store, handle_signals=False)
    with pytest.raises(RuntimeError, match="boom"):
        runner.run_once()
    status = load_status(store, "broken")
    assert status.last_report["errors"] == ["RuntimeError: boom"]
    assert status.last_success is None
    assert store.claim_delivery("jobs:broken:lease", ttl=1)  # released after the failure


def test_run_once_with_the_demo_job_against_the_sandbox(sandbox):
    store = MemoryStateStore()
    with client_for(sandbox.url) as client:
        report = JobRunner(TrackPagesJob(client, store, pages=3), store).run_once()
    assert report is not None
    assert report.ok
    assert report.counts == {"pages": 3}
    assert load_status(store, "track_pages").last_success == report.finished
    assert sandbox.close()["statuses"] == {"202": 3}


def test_sigterm_finishes_the_page_checkpoints_and_exits_zero(sandbox, tmp_path):
    database = tmp_path / "state.db"
    process = start(
        [sys.executable, "-m", "tests.jobs._apps.runner_main", sandbox.url, str(database), "1000"]
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "page 1"
    assert process.stdout.readline().strip() == "page 2"
    code = stop(process, signal.SIGTERM)
    rest = process.stdout.read()
    assert code == 0, rest
    assert "done complete=False" in rest
    store = SQLStateStore(f"sqlite:///{database}")
    status = load_status(store, "track_pages")
    assert status.last_report["complete"] is False
    counts = status.last_report["counts"]
    assert isinstance(counts, dict)
    pages = counts["pages"]
    assert isinstance(pages, int)
    assert 2 <= pages < 1000
    assert store.get_cursor("jobs:track_pages:page") == str(pages)  # checkpointed where it stopped
    assert store.claim_delivery("jobs:track_pages:lease", ttl=1)  # the lease was released
    assert sandbox.close()["statuses"] == {"202": pages}  # every page in flight was finished


def test_a_redis_lease_is_renewed_through_a_pass_longer_than_its_ttl():
    client = redis.Redis.from_url(REDIS_URL)
    client.delete("klaviyo_kit:jobs:long:lease")
    store = MemoryStateStore()
    rival = RedisLease(client, "long", ttl=0.3)
    rival_got_it = []

    class Long:
        name = "long"

        def run(self, *, should_stop=lambda: False):
            started = utcnow()
            for _ in range(10):  # 1 s: more than three ttls
                time.sleep(0.1)
                rival_got_it.append(rival.acquire())
                if should_stop():
                    return JobReport(self.name, started, utcnow(), complete=False)
            return JobReport(self.name, started, utcnow())

    lease = RedisLease(client, "long", ttl=0.3)
    report = JobRunner(Long(), store, lease=lease, handle_signals=False).run_once()
    assert report is not None
    assert report.complete
    assert not any(rival_got_it)
    assert rival.acquire()  # released at the end of the pass
    rival.release()
