"""ListCleanupJob against the in-process sandbox: dry run, safety cap, actions, idempotence, resume."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryStateStore, SQLStateStore
from klaviyo_kit.jobs._engagement import EngagementSource, KlaviyoEngagementSource
from klaviyo_kit.jobs._engagement_sql import SQLEngagementSource
from klaviyo_kit.jobs._job import Job
from klaviyo_kit.jobs._list_cleanup import ListCleanupJob
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.webhooks.handlers import Channel, Engagement, EngagementKind, SQLWebhookRepository

KEY = "pk_" + "c1" * 17
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SUPPRESS_PATH = "/api/profile-suppression-bulk-create-jobs"
EVENTS_PATH = "/api/events"


@dataclass
class Clock:
    """The sandbox's and the job's shared, settable time."""

    at: datetime = NOW

    def epoch(self) -> float:
        return self.at.timestamp()

    def now(self) -> datetime:
        return self.at

    def days_ago(self, days: float) -> None:
        self.at = NOW - timedelta(days=days)


@dataclass
class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and remembers (method, path) of each."""

    inner: httpx.BaseTransport
    calls: list[tuple[str, str]] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def count(self, method: str, path: str) -> int:
        return self.calls.count((method, path))

    def paths(self) -> set[str]:
        return {path for _, path in self.calls}


@dataclass
class World:
    clock: Clock
    sandbox: Sandbox
    recorder: Recorder
    client: KlaviyoClient
    store: MemoryStateStore
    list_id: str = ""
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    unengaged: set[str] = field(default_factory=set)

    def job(self, **options: object) -> ListCleanupJob:
        options.setdefault("clock", self.clock.now)
        return ListCleanupJob(self.client, self.store, self.list_id, **options)  # type: ignore[arg-type]

    def emails(self, ids: set[str]) -> set[str]:
        return {self.sandbox.account.profiles[i].attributes["email"] for i in ids}


@pytest.fixture
def world() -> Iterator[World]:
    clock = Clock()
    sandbox = Sandbox(seed=11, rate_limits=False, clock=clock.epoch)
    recorder = Recorder(sandbox.transport())
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    with KlaviyoClient(settings, transport=recorder, sleep=lambda _: None) as client:
        yield World(clock, sandbox, recorder, client, MemoryStateStore())


def _members(world: World, count: int, *, days_ago: float, tag: str) -> list[str]:
    world.clock.days_ago(days_ago)
    ids = [
        str(world.client.profiles.upsert({"email": f"{tag}{i}@example.com"}).id)
        for i in range(count)
    ]
    world.client.lists.add_profiles(world.list_id, ids)
    return ids


@pytest.fixture
def seeded(world: World) -> World:
    """22 members: 20 joined 120 days ago (16 engaged lately, 4 not), 2 joined 10 days ago."""
    world.clock.days_ago(200)
    world.list_id = str(world.client.lists.create("Newsletter").id)
    world.old = _members(world, 20, days_ago=120, tag="old")
    world.new = _members(world, 2, days_ago=10, tag="new")
    world.clock.days_ago(100)  # too long ago to count
    world.sandbox.simulate(world.old[0], "opened_email")
    for days, index in [(30, i) for i in range(1, 9)] + [(5, i) for i in range(9, 16)]:
        world.clock.days_ago(days)
        world.sandbox.simulate(world.old[index], "opened_email")
    world.clock.days_ago(2)
    world.sandbox.simulate(world.old[16], "clicked_email")
    world.sandbox.simulate(world.old[17], "received_email")  # not engagement by default
    world.clock.at = NOW
    world.unengaged = {world.old[0], world.old[17], world.old[18], world.old[19]}
    world.recorder.calls.clear()
    return world


def test_the_job_is_a_job():
    sandbox = Sandbox(seed=1, rate_limits=False)
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    with KlaviyoClient(settings, transport=sandbox.transport()) as client:
        job = ListCleanupJob(client, MemoryStateStore(), "L1")
        assert isinstance(job, Job)
        assert job.name == "list-cleanup:L1:suppress"
        assert job.dry_run
        assert isinstance(KlaviyoEngagementSource(client), EngagementSource)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"action": "delete"}, "action"),
        ({"days": 0}, "days"),
        ({"max_share": 0}, "max_share"),
        ({"max_share": 1.5}, "max_share"),
        ({"metrics": ()}, "metrics"),
        ({"metrics": "Opened Email"}, "metrics"),
    ],
)
def test_bad_options_are_refused_at_construction(world, options, message):
    with pytest.raises(ValueError, match=message):
        ListCleanupJob(world.client, world.store, "L1", **options)


def test_a_dry_run_lists_exactly_the_unengaged_and_acts_on_nobody(seeded):
    job = seeded.job()
    report = job.run()
    assert report.ok
    assert report.dry_run
    assert dict(report.counts) == {
        "members": 22,
        "spared_new": 2,
        "engaged": 16,
        "unengaged": 4,
        "skipped": 0,
        "acted": 0,
    }
    plan = job.last_plan
    assert plan is not None
    assert {t.profile_id for t in plan.targets} == seeded.unengaged
    assert {t.email for t in plan.targets} == seeded.emails(seeded.unengaged)
    assert all(
        "no Opened Email or Clicked Email in the last 90 days" in t.reason for t in plan.targets
    )
    assert plan.share == pytest.approx(4 / 22)
    assert seeded.recorder.count("POST", SUPPRESS_PATH) == 0
    assert list(seeded.store.iter_audit()) == []


def test_the_safety_cap_refuses_naming_the_share_and_the_cap(seeded):
    report = seeded.job(dry_run=False, max_share=0.1).run()
    assert not report.ok
    assert report.counts["acted"] == 0
    assert report.counts["unengaged"] == 4
    (error,) = report.errors
    assert "18.2%" in error
    assert "10.0% cap" in error
    assert "force=True" in error
    assert seeded.recorder.count("POST", SUPPRESS_PATH) == 0
    assert list(seeded.store.iter_audit()) == []
    # the default cap (20%) lets this 18% through
    assert seeded.job(dry_run=False).run().counts["acted"] == 4


def test_a_forced_run_suppresses_the_unengaged_and_is_idempotent(seeded):
    report = seeded.job(dry_run=False, max_share=0.1, force=True).run()
    assert report.ok
    assert not report.dry_run
    assert report.counts["acted"] == 4
    assert seeded.recorder.count("POST", SUPPRESS_PATH) == 1  # four addresses, one request
    audit = list(seeded.store.iter_audit())
    assert {a.subject for a in audit} == seeded.unengaged
    assert {a.operation for a in audit} == {"jobs.list_cleanup.suppress"}
    assert all("no Opened Email or Clicked Email" in str(a.detail["reason"]) for a in audit)

    # Klaviyo has not run the suppression jobs yet: the store's markers skip them.
    again = seeded.job(dry_run=False, max_share=0.1, force=True).run()
    assert again.ok
    assert (again.counts["acted"], again.counts["skipped"], again.counts["unengaged"]) == (0, 4, 0)
    assert seeded.recorder.count("POST", SUPPRESS_PATH) == 1
    assert len(list(seeded.store.iter_audit())) == 4

    # Once Klaviyo has suppressed them, even a job with a fresh store skips them.
    seeded.sandbox.run_jobs()
    suppressed = {
        p.id for p in seeded.sandbox.account.profiles.values() if p.extra.get("suppressed")
    }
    assert suppressed == seeded.unengaged
    fresh = ListCleanupJob(
        seeded.client, MemoryStateStore(), seeded.list_id, dry_run=False, clock=seeded.clock.now
    ).run()
    assert (fresh.counts["acted"], fresh.counts["skipped"]) == (0, 4)
    assert seeded.recorder.count("POST", SUPPRESS_PATH) == 1


def test_unsubscribe_takes_them_off_the_list(seeded):
    report = seeded.job(action="unsubscribe", dry_run=False).run()
    assert report.counts["acted"] == 4
    members = set(seeded.sandbox.account.list_members[seeded.list_id])
    assert members == set(seeded.old + seeded.new) - seeded.unengaged
    assert seeded.job(action="unsubscribe", dry_run=False).run().counts["members"] == 18


def test_unsubscribe_spares_who_left_the_list_since_the_scan(seeded):
    polls = iter([False, True])  # scan the one page, then stop before the first batch
    first = seeded.job(action="unsubscribe", dry_run=False).run(should_stop=lambda: next(polls))
    assert not first.complete
    assert first.counts["acted"] == 0
    left = seeded.old[18]
    seeded.client.lists.remove_profiles(seeded.list_id, [left])
    second = seeded.job(action="unsubscribe", dry_run=False).run()
    assert second.ok
    assert (second.counts["acted"], second.counts["skipped"]) == (3, 1)
    consent = seeded.sandbox.account.profiles[left].extra.get("subscriptions", {})
    assert consent.get("email") != "UNSUBSCRIBED"  # never unsubscribed globally
    assert {a.subject for a in seeded.store.iter_audit()} == seeded.unengaged - {left}


def test_the_scan_strategy_finds_the_same_profiles_in_fewer_requests(seeded):
    source = KlaviyoEngagementSource(seeded.client, strategy="scan")
    job = seeded.job(source=source)
    assert job.run().ok
    assert job.last_plan is not None
    assert {t.profile_id for t in job.last_plan.targets} == seeded.unengaged
    assert seeded.recorder.count("GET", EVENTS_PATH) == 2  # one page per metric
    with pytest.raises(ValueError, match="strategy"):
        KlaviyoEngagementSource(seeded.client, strategy="all")  # type: ignore[arg-type]


def test_remove_from_list_goes_in_chunks_of_1000_and_resumes_after_a_stop(world):
    world.clock.days_ago(200)
    world.list_id = str(world.client.lists.create("Big").id)
    world.clock.days_ago(150)
    rows = [{"email": f"m{i}@example.com"} for i in range(2500)]
    world.client.profiles.bulk_import(rows, list_id=world.list_id, poll_interval=1)
    world.sandbox.run_jobs()
    assert len(world.sandbox.account.list_members[world.list_id]) == 2500
    world.clock.at = NOW
    world.recorder.calls.clear()
    delete_path = f"/api/lists/{world.list_id}/relationships/profiles"

    def nobody(ids, metrics, since):  # a plain function is a source too
        return ()

    batches: list[int] = []

    def stop_after_first_batch() -> bool:
        batches.append(world.recorder.count("DELETE", delete_path))
        return batches[-1] >= 1

    options = {"action": "remove", "source": nobody, "dry_run": False, "force": True}
    first = world.job(**options).run(should_stop=stop_after_first_batch)
    assert not first.complete
    assert first.counts["acted"] == 1000
    assert world.recorder.count("DELETE", delete_path) == 1
    pages = world.recorder.count("GET", f"/api/lists/{world.list_id}/profiles")
    assert pages == 25

    second = world.job(**options).run()  # resumes the action; no rescan
    assert second.ok
    assert second.counts["acted"] == 2500
    assert second.counts["members"] == 2500
    assert world.recorder.count("DELETE", delete_path) == 3
    assert world.recorder.count("GET", f"/api/lists/{world.list_id}/profiles") == pages
    assert world.sandbox.account.list_members[world.list_id] == {}
    assert len(list(world.store.iter_audit())) == 2500

    third = world.job(**options).run()
    assert (third.counts["members"], third.counts["acted"]) == (0, 0)
    assert world.recorder.count("DELETE", delete_path) == 3


def test_a_stopped_scan_resumes_from_its_cursor_with_the_same_cutoff(seeded):
    _members(seeded, 90, days_ago=120, tag="more")  # 112 members: two pages
    seeded.clock.at = NOW
    seeded.recorder.calls.clear()
    calls = iter([False, True])
    first = seeded.job().run(should_stop=lambda: next(calls, False))
    assert not first.complete
    assert first.counts["members"] == 100
    seeded.clock.at = NOW + timedelta(days=1)  # the resumed pass keeps the first one's as_of
    job = seeded.job()
    second = job.run()
    assert second.ok
    assert second.counts["members"] == 112
    assert job.last_plan is not None
    assert job.last_plan.as_of == NOW
    assert second.counts["unengaged"] == 94
    assert seeded.recorder.count("GET", f"/api/lists/{seeded.list_id}/profiles") == 2
    # each job resolves the two metric names once, whatever the number of pages
    assert seeded.recorder.count("GET", "/api/metrics") == 4


def test_a_klaviyo_error_is_reported_not_raised(seeded):
    report = ListCleanupJob(seeded.client, seeded.store, "NOSUCH", clock=seeded.clock.now).run()
    assert not report.complete
    assert report.errors[0].startswith("NotFoundError")
    assert report.counts["acted"] == 0


@pytest.fixture
def sql_store(tmp_path) -> Iterator[SQLStateStore]:
    store = SQLStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    yield store
    store.close()


def test_the_sql_source_reads_webhook_engagement_with_no_api_calls(seeded, sql_store):
    repository = SQLWebhookRepository.from_store(sql_store)
    engaged = set(seeded.old) - seeded.unengaged
    for index, profile_id in enumerate(sorted(engaged)):
        kind = EngagementKind.OPENED if index % 2 else EngagementKind.CLICKED
        at = NOW - timedelta(days=3)
        repository.record_engagement(Engagement(profile_id, Channel.EMAIL, kind, at, f"e{index}"))
    stale = NOW - timedelta(days=120)
    repository.record_engagement(
        Engagement(seeded.old[0], Channel.EMAIL, EngagementKind.OPENED, stale, "old")
    )
    repository.record_engagement(
        Engagement(seeded.old[17], Channel.EMAIL, EngagementKind.RECEIVED, NOW, "recv")
    )
    job = seeded.job(source=SQLEngagementSource.from_store(sql_store))
    report = job.run()
    assert report.ok
    assert job.last_plan is not None
    assert {t.profile_id for t in job.last_plan.targets} == seeded.unengaged
    # Only the member pages were read: no events, no metrics.
    assert seeded.recorder.paths() == {f"/api/lists/{seeded.list_id}/profiles"}
    assert len(seeded.recorder.calls) == 1


def test_the_sql_source_refuses_unknown_metrics_and_a_missing_table(seeded, sql_store):
    source = SQLEngagementSource.from_store(sql_store)
    with pytest.raises(ValueError, match="Placed Order"):
        source.engaged(["p1"], metrics=["Placed Order"], since=NOW)
    report = seeded.job(source=source).run()  # no webhook ever recorded: no table
    assert not report.complete
    assert "JobError" in report.errors[0]
    assert "webhook_engagement does not exist" in report.errors[0]
    assert report.counts["acted"] == 0


def test_a_checkpoint_older_than_a_day_starts_a_new_pass(seeded):
    polls = iter([False, True])
    assert not seeded.job(dry_run=False).run(should_stop=lambda: next(polls)).complete
    seeded.clock.at = NOW + timedelta(days=2)
    job = seeded.job()  # a dry run is another pass too: its own checkpoint
    assert job.run().ok
    later = seeded.job(dry_run=False)
    assert later.run().ok
    assert later.last_plan is not None
    assert later.last_plan.as_of == NOW + timedelta(days=2)
