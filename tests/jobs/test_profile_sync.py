"""ProfileSyncJob against the in-process sandbox and a SQLite users table."""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryStateStore, SQLStateStore, StateStore
from klaviyo_kit.jobs import load_status
from klaviyo_kit.jobs._profile_source import (
    ProfileData,
    ProfileLookup,
    ProfileSource,
    ProfileWrite,
)
from klaviyo_kit.jobs._profile_source_sql import ProfileColumns, SQLProfileSource
from klaviyo_kit.jobs._profile_sync import ProfileSyncJob
from klaviyo_kit.jobs._profile_sync_conflicts import (
    ProfileConflict,
    prefer_klaviyo,
    prefer_local,
)
from klaviyo_kit.sandbox import Sandbox

KEY = "pk_" + "a7" * 17
T0 = 1_800_000_000.0


class Ticker:
    """The sandbox's clock: each reading moves it ``step`` seconds on (0 freezes it)."""

    def __init__(self, start: float = T0, step: float = 0.001) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def at(self) -> datetime:
        return datetime.fromtimestamp(self.now, timezone.utc)


@dataclass
class Recorder(httpx.BaseTransport):
    inner: httpx.BaseTransport
    calls: list[tuple[str, str]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if request.url.path in self.failing:
            return httpx.Response(503, json={"errors": []})
        return self.inner.handle_request(request)

    def writes(self) -> list[tuple[str, str]]:
        """Requests that change Klaviyo (job polls are GETs)."""
        return [c for c in self.calls if c[0] != "GET"]


def users_table(metadata: sa.MetaData, name: str = "users") -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(255)),
        sa.Column("first_name", sa.String(255)),
        sa.Column("last_name", sa.String(255)),
        sa.Column("phone", sa.String(32)),
        sa.Column("properties", sa.JSON),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index(f"{name}_updated", "updated_at", "id"),
    )


@dataclass
class World:
    """One sandbox account, one users table, one state store, and the job between them."""

    clock: Ticker
    sandbox: Sandbox
    recorder: Recorder
    client: KlaviyoClient
    engine: sa.Engine
    table: sa.Table
    store: StateStore
    source: ProfileSource

    def job(self, **options: Any) -> ProfileSyncJob:
        options.setdefault("poll_interval", 0.01)
        return ProfileSyncJob(self.client, self.store, self.source, **options)

    # --- Klaviyo side --------------------------------------------------------------------------

    def seed_klaviyo(self, count: int, prefix: str = "k") -> None:
        rows = (
            {
                "email": f"{prefix}{i}@example.com",
                "first_name": f"K{i}",
                "properties": {"n": i, "origin": "klaviyo"},
            }
            for i in range(count)
        )
        report = self.client.profiles.bulk_import(rows, poll_interval=0.01)
        assert report.completed == count

    def edit_klaviyo(self, email: str, **fields: Any) -> None:
        self.client.profiles.upsert({"email": email, **fields})

    def klaviyo(self) -> dict[str, tuple[Any, ...]]:
        return {
            r.attributes["email"]: (
                r.attributes.get("first_name"),
                r.attributes.get("last_name"),
                r.attributes.get("phone_number"),
                dict(r.attributes.get("properties", {})),
            )
            for r in self.sandbox.account.profiles.values()
        }

    def klaviyo_updated(self, email: str) -> datetime:
        record = self.sandbox.account.find_profile("email", email)
        assert record is not None
        return datetime.fromtimestamp(int(record.updated), timezone.utc)

    # --- host side -----------------------------------------------------------------------------

    def seed_local(self, count: int, at: datetime, prefix: str = "l") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(self.table),
                [
                    {
                        "email": f"{prefix}{i}@example.com",
                        "first_name": f"L{i}",
                        "last_name": "Local",
                        "phone": None,
                        "properties": {"n": i, "origin": "local"},
                        "updated_at": at,
                    }
                    for i in range(count)
                ],
            )

    def edit_local(self, who: str, at: datetime, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.table)
                .where(self.table.c.email == who)
                .values(updated_at=at, **values)
            )

    def local(self) -> dict[str, tuple[Any, ...]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table)).all()
        return {
            r.email: (r.first_name, r.last_name, r.phone, dict(r.properties or {})) for r in rows
        }

    def local_stamps(self) -> dict[str, datetime]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(self.table.c.email, self.table.c.updated_at)).all())

    def local_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one()
            )


def build_world(
    tmp_path: Path,
    *,
    step: float = 0.001,
    store: StateStore | None = None,
    url: str | None = None,
    table_name: str = "users",
) -> World:
    clock = Ticker(step=step)
    sandbox = Sandbox(seed=11, rate_limits=False, clock=clock)
    recorder = Recorder(sandbox.transport())
    client = KlaviyoClient(
        KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False}),
        transport=recorder,
        sleep=lambda _: None,
    )
    engine = sa.create_engine(url or f"sqlite:///{tmp_path / 'app.sqlite3'}")
    metadata = sa.MetaData()
    table = users_table(metadata, table_name)
    metadata.create_all(engine)
    return World(
        clock,
        sandbox,
        recorder,
        client,
        engine,
        table,
        store or MemoryStateStore(),
        SQLProfileSource(engine, table_name),
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = build_world(tmp_path)
    yield w
    w.client.close()
    w.engine.dispose()


def synced(world: World, people: int = 300) -> None:
    """Seed both sides with ``people`` each and run the first sync."""
    world.seed_klaviyo(people)
    world.seed_local(people, world.clock.at() - timedelta(hours=1))
    report = world.job().run()
    assert report.ok, report.errors
    assert report.counts["pulled"] == people
    assert report.counts["pushed"] == people


def make_changes(world: World) -> None:
    """30 conflicts (15 won by each side), 20 changes only in Klaviyo, 20 only locally."""
    for i in range(30):
        email = f"k{i}@example.com" if i % 2 else f"l{i}@example.com"
        world.edit_klaviyo(email, first_name=f"KlaviyoEdit{i}")
        klaviyo_time = world.klaviyo_updated(email)
        local_wins = i < 15
        at = klaviyo_time + timedelta(seconds=60 if local_wins else -60)
        world.edit_local(email, at, first_name=f"LocalEdit{i}")
    for i in range(30, 50):
        world.edit_klaviyo(f"k{i}@example.com", last_name=f"OnlyKlaviyo{i}")
    for i in range(30, 50):
        world.edit_local(f"l{i}@example.com", world.clock.at(), last_name=f"OnlyLocal{i}")


def run_to_end(job: ProfileSyncJob, limit: int = 50) -> list[Any]:
    reports = []
    for _ in range(limit):
        report = job.run()
        reports.append(report)
        if report.complete:
            return reports
    pytest.fail("the job never completed")


def stop_after(polls: int) -> Callable[[], bool]:
    seen = [0]

    def should_stop() -> bool:
        seen[0] += 1
        return seen[0] > polls

    return should_stop


# --- pull, push, first sync --------------------------------------------------------------------


def test_the_first_sync_makes_both_sides_equal(world):
    synced(world)
    assert world.local_count() == 600
    assert len(world.sandbox.account.profiles) == 600
    assert world.local() == world.klaviyo()
    # Pushed profiles carry the application's id as their external id.
    record = world.sandbox.account.find_profile("email", "l7@example.com")
    assert record is not None
    (local_id,) = world.source.find([ProfileLookup(email="l7@example.com")])
    assert local_id is not None
    assert record.attributes["external_id"] == local_id.id
    # 300 local rows is a bulk import, not 300 upserts.
    assert ("POST", "/api/profile-bulk-import-jobs") in world.recorder.writes()
    assert ("POST", "/api/profile-import") not in world.recorder.writes()
    status = load_status(world.store, "profile-sync")
    assert status.last_success is not None
    assert status.watermark is not None


def test_after_a_full_sync_with_nothing_new_nothing_is_written(world):
    synced(world)
    echo = world.job().run()
    assert echo.ok
    assert (echo.counts["pulled"], echo.counts["pushed"], echo.counts["conflicts"]) == (0, 0, 0)
    assert echo.counts["skipped_echo"] == 300, "the pushed profiles come back once, as echoes"
    before_writes = len(world.recorder.writes())
    stamps = world.local_stamps()
    for _ in range(2):
        quiet = world.job().run()
        assert quiet.ok
        assert dict(quiet.counts) == dict.fromkeys(
            ("pulled", "pushed", "conflicts", "skipped_echo", "errors"), 0
        )
    assert len(world.recorder.writes()) == before_writes
    assert world.local_stamps() == stamps
    assert world.local() == world.klaviyo()


def test_few_local_changes_are_upserted(world):
    synced(world, people=120)
    world.job().run()
    for i in range(3):
        world.edit_local(f"l{i}@example.com", world.clock.at(), first_name=f"New{i}")
    before = len(world.recorder.writes())
    report = world.job().run()
    assert report.counts["pushed"] == 3
    assert world.recorder.writes()[before:] == [("POST", "/api/profile-import")] * 3
    assert world.klaviyo()["l1@example.com"][0] == "New1"


def import_jobs_in_order(calls: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """Each import job's (submit, last poll) request positions, in the order submitted."""
    jobs = "/api/profile-bulk-import-jobs"
    submits = [i for i, call in enumerate(calls) if call == ("POST", jobs)]
    last_poll: dict[str, int] = {}
    for i, (method, path) in enumerate(calls):
        if method == "GET" and path.startswith(jobs + "/") and path.count("/") == 3:
            last_poll.setdefault(path, i)
            last_poll[path] = i
    # Jobs are first polled in the order they were submitted.
    firsts = sorted(last_poll, key=lambda path: calls.index(("GET", path)))
    return list(zip(submits, (last_poll[path] for path in firsts), strict=True))


def test_import_jobs_of_later_pages_run_while_earlier_ones_finish(world):
    world.seed_local(50, world.clock.at() - timedelta(hours=1))
    report = world.job(push_batch=10, bulk_threshold=5, imports_in_flight=3).run()
    assert report.ok, report.errors
    assert report.counts["pushed"] == 50
    assert world.local() == world.klaviyo()
    jobs = import_jobs_in_order(world.recorder.calls)
    assert len(jobs) == 5
    # The second job was submitted before the first was seen finished ...
    assert jobs[1][0] < jobs[0][1]
    # ... and never more than three at once: job k+3 waits for job k.
    for (_, done), (submitted, _) in zip(jobs, jobs[3:], strict=False):
        assert submitted > done
    # The watermark is past every pushed row: the next pass reads only the echoes.
    again = world.job(push_batch=10, bulk_threshold=5).run()
    assert again.counts["pushed"] == 0


def test_one_import_in_flight_waits_for_each_job(world):
    world.seed_local(30, world.clock.at() - timedelta(hours=1))
    report = world.job(push_batch=10, bulk_threshold=5, imports_in_flight=1).run()
    assert report.counts["pushed"] == 30
    jobs = import_jobs_in_order(world.recorder.calls)
    assert len(jobs) == 3
    for (_, done), (submitted, _) in itertools.pairwise(jobs):
        assert submitted > done


def test_imports_in_flight_must_be_positive(world):
    with pytest.raises(ValueError, match="imports_in_flight must be positive, got 0"):
        world.job(imports_in_flight=0)


def test_a_profile_created_in_klaviyo_later_is_inserted_once(world):
    synced(world, people=50)
    world.edit_klaviyo("fresh@example.com", first_name="Fresh")
    report = world.job().run()
    assert report.counts["pulled"] == 1
    assert world.local()["fresh@example.com"][0] == "Fresh"
    assert world.job().run().counts["pulled"] == 0
    assert world.local_count() == 101


# --- conflicts ---------------------------------------------------------------------------------


def test_conflicts_are_won_by_the_last_write_and_audited(world):
    synced(world)
    world.job().run()
    make_changes(world)
    report = world.job().run()
    assert report.ok, report.errors
    assert report.counts["conflicts"] == 30
    assert report.counts["pulled"] == 15 + 20
    assert report.counts["pushed"] == 15 + 20
    local, klaviyo = world.local(), world.klaviyo()
    assert local == klaviyo
    for i in range(30):
        email = f"k{i}@example.com" if i % 2 else f"l{i}@example.com"
        assert local[email][0] == (f"LocalEdit{i}" if i < 15 else f"KlaviyoEdit{i}")
    for i in range(30, 50):
        assert local[f"k{i}@example.com"][1] == f"OnlyKlaviyo{i}"
        assert klaviyo[f"l{i}@example.com"][1] == f"OnlyLocal{i}"
    conflicts = [e for e in world.store.iter_audit() if e.operation == "profile_sync.conflict"]
    assert len(conflicts) == 30
    assert {e.detail["winner"] for e in conflicts} == {"local", "klaviyo"}
    assert all("@" not in str(dict(e.detail)) for e in conflicts), "no emails in the audit"
    # Settled: the next passes take the echoes and then write nothing.
    world.job().run()
    quiet = world.job().run()
    assert (quiet.counts["pulled"], quiet.counts["pushed"], quiet.counts["conflicts"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("policy", "winner"),
    [(prefer_local, "LocalEdit"), (prefer_klaviyo, "KlaviyoEdit")],
)
def test_a_conflict_policy_picks_one_side(world, policy, winner):
    synced(world, people=60)
    world.job().run()
    make_changes(world)
    report = world.job(on_conflict=policy).run()
    assert report.counts["conflicts"] == 30
    local = world.local()
    assert local == world.klaviyo()
    for i in range(30):
        email = f"k{i}@example.com" if i % 2 else f"l{i}@example.com"
        assert local[email][0] == f"{winner}{i}"


def test_a_callable_policy_sees_both_versions(world):
    synced(world, people=60)
    world.job().run()
    make_changes(world)
    seen: list[ProfileConflict] = []

    def by_name(conflict: ProfileConflict) -> Any:
        seen.append(conflict)
        return "klaviyo" if (conflict.klaviyo.first_name or "").endswith("0") else "local"

    world.job(on_conflict=by_name).run()
    assert len(seen) == 30
    assert all((c.local.data.first_name or "").startswith("LocalEdit") for c in seen)
    local = world.local()
    assert local["l10@example.com"][0] == "KlaviyoEdit10"
    assert local["l12@example.com"][0] == "LocalEdit12"


# --- watermarks: equal timestamps, clock skew, resumes -----------------------------------------


def test_equal_timestamps_across_page_boundaries_drop_and_repeat_nothing(tmp_path):
    w = build_world(tmp_path, step=0.0)  # Klaviyo's clock stands still: one `updated` for all
    w.seed_klaviyo(250)
    job = w.job(page_size=100)
    first = job.run(should_stop=stop_after(1))  # one page, then stop
    assert not first.complete
    assert first.counts["pulled"] == 100
    rest = run_to_end(job)
    assert sum(r.counts["pulled"] for r in rest) == 150
    assert w.local_count() == 250
    assert w.local() == w.klaviyo()


def test_a_source_that_repeats_a_full_page_stops_the_pass_instead_of_looping(world):
    # A raw sqlite3 insert stores "...+00:00", which sorts after the same time bound by
    # SQLAlchemy: the rows never fall behind the cursor and each page comes back again.
    at = world.clock.at() - timedelta(hours=1, microseconds=1)  # ".999999+00:00"
    with world.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (email, first_name, properties, updated_at) VALUES (?, ?, ?, ?)",
            [(f"raw{i}@example.com", f"R{i}", "{}", at.isoformat(" ")) for i in range(10)],
        )
    report = world.job(push_batch=5, bulk_threshold=1000).run()
    assert not report.complete
    assert report.counts["pushed"] == 5  # the first page; its repeat is refused, not re-sent
    assert any("returned rows at or before" in line for line in report.errors)


def test_a_klaviyo_clock_behind_the_watermark_is_covered_by_the_overlap(world):
    synced(world, people=20)
    world.job().run()
    world.clock.now += 100
    world.edit_klaviyo("k5@example.com", first_name="Later")
    assert world.job().run().counts["pulled"] == 1  # the watermark is now 100 s on
    world.clock.now -= 70  # a write stamped 70 s before what the job has already seen
    world.edit_klaviyo("k3@example.com", first_name="Skewed")
    narrow = world.job(overlap=timedelta(seconds=10), dry_run=True).run()
    assert narrow.counts["pulled"] == 0, "beyond the overlap a skewed write is missed"
    report = world.job().run()
    assert report.counts["pulled"] == 1
    assert world.local()["k3@example.com"][0] == "Skewed"


def test_overlap_below_a_second_is_refused(world):
    with pytest.raises(ValueError, match="overlap"):
        world.job(overlap=timedelta(milliseconds=10))


def changed_world(path: Path, *, people: int) -> World:
    """A world in ``path`` with a SQLite state store, synced, then changed by make_changes."""
    path.mkdir()
    w = build_world(path, store=SQLStateStore(f"sqlite:///{path / 'state.sqlite3'}"))
    synced(w, people=people)
    w.job().run()
    make_changes(w)
    return w


@pytest.mark.parametrize("polls", [1, 2, 4, 6])
def test_a_stopped_pass_resumes_to_the_same_end_state(tmp_path, polls):
    reference = changed_world(tmp_path / "reference", people=80)
    straight = reference.job(push_batch=40, page_size=40).run()
    assert straight.ok

    stopped = changed_world(tmp_path / "stopped", people=80)
    job = stopped.job(push_batch=40, page_size=40)
    first = job.run(should_stop=stop_after(polls))
    assert not first.complete
    reports = [first, *run_to_end(job)]
    assert stopped.local() == reference.local()
    assert stopped.klaviyo() == reference.klaviyo()
    assert sum(r.counts["conflicts"] for r in reports) == straight.counts["conflicts"] == 30
    assert sum(r.counts["pulled"] for r in reports) == straight.counts["pulled"]
    assert sum(r.counts["pushed"] for r in reports) == straight.counts["pushed"]


# --- dry run, webhooks, errors -----------------------------------------------------------------


def test_a_dry_run_reports_the_changes_and_writes_nothing(tmp_path):
    def scenario(path: Path) -> World:
        path.mkdir()
        w = build_world(path)
        synced(w, people=60)
        w.job().run()
        make_changes(w)
        return w

    dry_world = scenario(tmp_path / "dry")
    local, klaviyo = dry_world.local(), dry_world.klaviyo()
    stamps = dry_world.local_stamps()
    audit = list(dry_world.store.iter_audit())
    status = load_status(dry_world.store, "profile-sync")
    writes = len(dry_world.recorder.writes())
    dry = dry_world.job(dry_run=True).run()
    assert dry.dry_run
    assert dry.complete
    assert (dry_world.local(), dry_world.klaviyo()) == (local, klaviyo)
    assert dry_world.local_stamps() == stamps
    assert list(dry_world.store.iter_audit()) == audit
    assert load_status(dry_world.store, "profile-sync") == status
    assert len(dry_world.recorder.writes()) == writes

    real = scenario(tmp_path / "real").job().run()
    for name in ("pulled", "pushed", "conflicts"):
        assert dry.counts[name] == real.counts[name], name
    # And the real pass after the dry one does the same work.
    again = dry_world.job().run()
    for name in ("pulled", "pushed", "conflicts"):
        assert again.counts[name] == real.counts[name], name


def test_a_webhook_applies_one_profile_through_the_same_rules(world):
    synced(world, people=20)
    world.job().run()
    world.edit_klaviyo("k4@example.com", first_name="FromWebhook")
    record = world.sandbox.account.find_profile("email", "k4@example.com")
    assert record is not None
    job = world.job()
    assert job.apply_klaviyo_profile(world.client.profiles.get(record.id)) == "applied"
    assert world.local()["k4@example.com"][0] == "FromWebhook"
    assert job.apply_klaviyo_profile(world.client.profiles.get(record.id)) == "repeat"
    report = job.run()
    assert (report.counts["pulled"], report.counts["conflicts"]) == (0, 0)

    # A conflict on the webhook path: the later local edit wins and is pushed at once.
    world.edit_klaviyo("k5@example.com", first_name="KlaviyoSide")
    other = world.sandbox.account.find_profile("email", "k5@example.com")
    assert other is not None
    world.edit_local(
        "k5@example.com",
        world.klaviyo_updated("k5@example.com") + timedelta(minutes=1),
        first_name="LocalSide",
    )
    resource = {"type": "profile", "id": other.id, "attributes": dict(other.attributes)}
    resource["attributes"]["updated"] = world.klaviyo_updated("k5@example.com").isoformat()
    assert job.apply_klaviyo_profile(resource) == "kept_local"
    assert world.klaviyo()["k5@example.com"][0] == "LocalSide"
    assert any(e.subject == other.id for e in world.store.iter_audit())


def test_rows_klaviyo_rejects_are_reported_and_the_rest_pushed(world):
    world.seed_local(120, world.clock.at())
    world.edit_local("l5@example.com", world.clock.at(), email="not-an-email")
    world.edit_local("l6@example.com", world.clock.at(), phone="12345")
    report = world.job().run()
    assert report.complete
    assert report.counts["pushed"] == 118
    assert report.counts["errors"] == 2
    assert not report.ok
    assert all("@" not in line for line in report.errors)
    assert len(world.sandbox.account.profiles) == 118


def fresh_client(world: World) -> None:
    """Replace the client (its circuit breaker opened), as a new process would."""
    world.client.close()
    world.client = KlaviyoClient(
        KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False}),
        transport=world.recorder,
        sleep=lambda _: None,
    )


def test_an_outage_while_upserting_stops_before_the_checkpoint(world):
    synced(world, people=20)
    world.job().run()
    for i in range(3):
        world.edit_local(f"l{i}@example.com", world.clock.at(), first_name=f"Retry{i}")
    world.recorder.failing.add("/api/profile-import")
    report = world.job().run()
    assert not report.complete
    assert report.counts["pushed"] == 0
    world.recorder.failing.clear()
    fresh_client(world)
    again = world.job().run()
    assert again.ok
    assert again.counts["pushed"] == 3
    assert world.local() == world.klaviyo()


def test_the_same_person_on_both_sides_before_any_sync_is_a_conflict(world):
    world.edit_klaviyo("both@example.com", first_name="InKlaviyo")
    klaviyo_time = world.klaviyo_updated("both@example.com")
    with world.engine.begin() as conn:
        conn.execute(
            sa.insert(world.table).values(
                email="both@example.com",
                first_name="InApp",
                properties={},
                updated_at=klaviyo_time + timedelta(seconds=30),
            )
        )
    report = world.job().run()
    assert report.counts["conflicts"] == 1
    assert world.local_count() == 1
    assert len(world.sandbox.account.profiles) == 1
    [record] = world.sandbox.account.profiles.values()
    assert record.attributes["first_name"] == "InApp"


def test_a_late_webhook_with_an_older_version_changes_nothing(world):
    synced(world, people=10)
    world.job().run()
    record = world.sandbox.account.find_profile("email", "k1@example.com")
    assert record is not None
    old = world.client.profiles.get(record.id)
    world.clock.now += 5
    world.edit_klaviyo("k1@example.com", first_name="Newer")
    job = world.job()
    assert job.run().counts["pulled"] == 1
    assert job.apply_klaviyo_profile(old) == "repeat"
    assert world.local()["k1@example.com"][0] == "Newer"


def test_a_klaviyo_outage_stops_at_the_checkpoint(world):
    from klaviyo_kit.sandbox import FaultPlan

    synced(world, people=20)
    world.sandbox.set_faults(FaultPlan(seed=1, statuses={503: 1.0}))
    report = world.job().run()
    assert not report.complete
    assert report.errors
    world.sandbox.set_faults(None)
    fresh_client(world)
    assert world.job().run().ok
    assert world.local() == world.klaviyo()


def test_a_source_with_string_ids_and_other_column_names(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    metadata = sa.MetaData()
    sa.Table(
        "crm_people",
        metadata,
        sa.Column("uid", sa.String(40), primary_key=True),
        sa.Column("mail", sa.String(255)),
        sa.Column("given", sa.String(255)),
        sa.Column("family", sa.String(255)),
        sa.Column("mobile", sa.String(32)),
        sa.Column("extra", sa.Text),
        sa.Column("changed", sa.DateTime),
    )
    metadata.create_all(engine)
    counter = iter(range(1000))
    source = SQLProfileSource(
        engine,
        "crm_people",
        columns=ProfileColumns("uid", "mail", "given", "family", "mobile", "extra", "changed"),
        new_id=lambda: f"crm-{next(counter)}",
    )
    w = build_world(tmp_path)
    w.seed_klaviyo(5)
    job = ProfileSyncJob(w.client, w.store, source, poll_interval=0.01)
    assert job.run().counts["pulled"] == 5
    (row,) = source.find([ProfileLookup(email="K3@EXAMPLE.COM")])
    assert row is not None
    assert row.id.startswith("crm-")
    assert row.data.properties == {"n": 3, "origin": "klaviyo"}
    assert row.updated_at.tzinfo is not None
    assert "crm_people" in repr(source)


@pytest.mark.postgres
def test_the_sql_source_on_postgresql(tmp_path, postgres_url):
    name = f"kkt_users_{os.getpid()}_{id(tmp_path) % 100000}"
    w = build_world(tmp_path, url=postgres_url, table_name=name)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    w.source = SQLProfileSource(plain, name)  # a plain URL means psycopg 3
    try:
        synced(w, people=60)
        make_changes(w)
        report = w.job().run()
        assert report.ok, report.errors
        assert report.counts["conflicts"] == 30
        assert w.local() == w.klaviyo()
    finally:
        w.table.drop(w.engine)
        w.engine.dispose()
        if isinstance(w.source, SQLProfileSource):
            w.source.engine.dispose()


# --- a pass killed with SIGKILL ----------------------------------------------------------------

_CHILD = """
import os, signal, sys
from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.jobs._profile_source_sql import SQLProfileSource
from klaviyo_kit.jobs._profile_sync import ProfileSyncJob

url, app, state, where, count, key = sys.argv[1:7]
page_size, push_batch = (int(n) for n in (sys.argv[7:9] or (40, 40)))
count = int(count)
seen = [0]

def tick():
    seen[0] += 1
    if seen[0] >= count:
        os.kill(os.getpid(), signal.SIGKILL)

class Killing(SQLProfileSource):
    def changes(self, since, *, after_id=None, limit=1000):
        if where == "push":
            tick()  # killed as the push reads a page, earlier pages' import jobs in flight
        return super().changes(since, after_id=after_id, limit=limit)

    def apply(self, writes):
        local_ids = super().apply(writes)
        if where == "apply":
            tick()  # killed after a page is written, before the job remembers it
        return local_ids

def should_stop():
    if where == "page":
        tick()
    return False

settings = KlaviyoSettings(private_key=key, base_url=url, rate_limit={"enabled": False})
with KlaviyoClient(settings, sleep=lambda _: None) as client:
    job = ProfileSyncJob(
        client, SQLStateStore(state), Killing(app, "users"),
        page_size=page_size, push_batch=push_batch, poll_interval=0.01,
    )
    job.run(should_stop=should_stop)
sys.exit(3)  # never reached: the kill comes first
"""


def kill_pass(
    w: World, folder: Path, where: str, count: int, *, page_size: int = 40, push_batch: int = 40
) -> None:
    """Run a pass in a child process that SIGKILLs itself at the ``count``-th page (or write)."""
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    with w.sandbox.serve() as server:
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                server.url,
                f"sqlite:///{folder / 'app.sqlite3'}",
                f"sqlite:///{folder / 'state.sqlite3'}",
                where,
                str(count),
                KEY,
                str(page_size),
                str(push_batch),
            ],
            env=env,
            capture_output=True,
            timeout=240,
            check=False,
        )
    assert child.returncode == -9, child.stderr.decode()[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(("where", "count"), [("apply", 1), ("page", 2), ("page", 4)])
def test_a_killed_pass_resumes_to_the_same_end_state(tmp_path, where, count):
    reference = changed_world(tmp_path / "reference", people=60)
    assert reference.job(page_size=40, push_batch=40).run().ok

    killed = changed_world(tmp_path / "killed", people=60)
    kill_pass(killed, tmp_path / "killed", where, count)
    reports = run_to_end(killed.job(page_size=40, push_batch=40))
    assert reports[-1].ok
    assert killed.local() == reference.local()
    assert killed.klaviyo() == reference.klaviyo()


PEOPLE = 10_000
CONFLICTS = 500


def changed_at_scale(w: World) -> dict[str, str]:
    """10,000 changes on each side, 500 people among them changed on both: who should win.

    Klaviyo changes every ``k`` person (one bulk import); the application changes every ``l``
    person but the last 500, and the first 500 ``k`` people, half of them after Klaviyo's
    change (the application wins) and half before (Klaviyo wins).
    """
    report = w.client.profiles.bulk_import(
        ({"email": f"k{i}@example.com", "first_name": f"KlaviyoEdit{i}"} for i in range(PEOPLE)),
        poll_interval=0.01,
    )
    assert report.completed == PEOPLE
    with w.engine.begin() as conn:
        ids = dict(conn.execute(sa.select(w.table.c.email, w.table.c.id)).all())
        now = w.clock.at()
        # A second apart, so the push's 5-minute overlap re-reads 300 rows, not all of them.
        edits = [
            {
                "row": ids[f"l{i}@example.com"],
                "name": f"LocalEdit{i}",
                "at": now + timedelta(seconds=i),
            }
            for i in range(PEOPLE - CONFLICTS)
        ]
        winners: dict[str, str] = {}
        for i in range(CONFLICTS):
            email = f"k{i}@example.com"
            local_wins = i % 2 == 0
            shift = timedelta(seconds=60 if local_wins else -60)
            edits.append(
                {"row": ids[email], "name": f"LocalEdit{i}", "at": w.klaviyo_updated(email) + shift}
            )
            winners[email] = f"LocalEdit{i}" if local_wins else f"KlaviyoEdit{i}"
        conn.execute(
            sa.update(w.table)
            .where(w.table.c.id == sa.bindparam("row"))
            .values(first_name=sa.bindparam("name"), updated_at=sa.bindparam("at")),
            edits,
        )
    return winners


@pytest.mark.slow
def test_ten_thousand_changes_each_side_and_500_conflicts_across_kills(tmp_path):
    big = {"page_size": 100, "push_batch": 1000}

    def scenario(path: Path) -> tuple[World, dict[str, str]]:
        path.mkdir()
        w = build_world(path, store=SQLStateStore(f"sqlite:///{path / 'state.sqlite3'}"))
        w.seed_klaviyo(PEOPLE)
        w.seed_local(PEOPLE, w.clock.at() - timedelta(hours=1))
        assert w.job(**big).run().ok
        assert w.job(**big).run().ok  # the echoes of the first sync
        return w, changed_at_scale(w)

    reference, winners = scenario(tmp_path / "reference")
    straight = reference.job(**big).run()
    assert straight.ok, straight.errors
    assert straight.counts["conflicts"] == CONFLICTS
    assert straight.counts["pulled"] == PEOPLE - CONFLICTS // 2
    local = reference.local()
    assert local == reference.klaviyo()
    assert {email: local[email][0] for email in winners} == winners, "the last write wins"

    killed, _ = scenario(tmp_path / "killed")
    # Three kills at random pages (seeded): in the pull (100 pages), then twice in the push
    # (about 10 pages of echoes of the pull, then 10 of local changes) while earlier pages'
    # import jobs are in flight.
    rng = random.Random(2026)  # noqa: S311 - kill points, not secrets
    for where, low, high in (("page", 2, 95), ("push", 13, 18), ("push", 2, 5)):
        kill_pass(killed, tmp_path / "killed", where, rng.randint(low, high), **big)
    reports = run_to_end(killed.job(**big))
    assert all(r.ok for r in reports), [r.errors for r in reports]
    assert killed.local() == reference.local()
    assert killed.klaviyo() == reference.klaviyo()
    # Once converged, a pass writes nothing on either side.
    killed.job(**big).run()
    writes, stamps = len(killed.recorder.writes()), killed.local_stamps()
    quiet = killed.job(**big).run()
    assert (quiet.counts["pulled"], quiet.counts["pushed"]) == (0, 0)
    assert len(killed.recorder.writes()) == writes
    assert killed.local_stamps() == stamps


# --- the source, a page at a time ---------------------------------------------------------------


def test_find_answers_each_lookup_in_order(world):
    world.seed_local(3, world.clock.at())
    found = world.source.find(
        [
            ProfileLookup(email="L2@Example.com "),  # as Klaviyo may spell it: lower-cased match
            ProfileLookup("1"),
            ProfileLookup("999", email="l0@example.com"),  # a stale id falls back to the email
            ProfileLookup("not-an-integer"),  # an external id set elsewhere: no row, no error
            ProfileLookup(email="nobody@example.com"),
        ]
    )
    assert [row.data.email if row else None for row in found] == [
        "l2@example.com",
        "l0@example.com",
        "l0@example.com",
        None,
        None,
    ]


def test_apply_writes_a_page_in_one_transaction(world):
    world.seed_local(2, world.clock.at())
    at = world.clock.at()
    ids = world.source.apply(
        [
            ProfileWrite(None, ProfileData(email="new1@example.com"), at),
            ProfileWrite("2", ProfileData(email="l1@example.com", first_name="Updated"), at),
            ProfileWrite(None, ProfileData(email="new2@example.com"), at),
        ]
    )
    local = world.local()
    assert ids[1] == "2"
    assert {row.data.email for row in world.source.find([ProfileLookup(i) for i in ids])} == {
        "new1@example.com",
        "l1@example.com",
        "new2@example.com",
    }
    assert local["l1@example.com"][0] == "Updated"
    # All or none: a write the database refuses rolls back the page's other writes.
    clashing = SQLProfileSource(world.engine, world.table, new_id=lambda: "2")  # a taken key
    with pytest.raises(sa.exc.IntegrityError):
        clashing.apply(
            [
                ProfileWrite("1", ProfileData(email="l0@example.com", first_name="Lost"), at),
                ProfileWrite(None, ProfileData(email="clash@example.com"), at),
            ]
        )
    assert world.local()["l0@example.com"][0] == "L0"


def test_two_profiles_of_one_page_meeting_at_one_row_are_taken_one_after_the_other(world):
    # Row 1 has a@; Klaviyo's first profile claims row 1 by external id and moves it to b@,
    # the second has a@ and no row: taken one by one, it gets a row of its own.
    world.seed_local(1, world.clock.at() - timedelta(hours=1), prefix="a")
    world.client.profiles.upsert({"email": "b@example.com", "external_id": "1", "first_name": "B"})
    world.client.profiles.upsert({"email": "a0@example.com", "first_name": "A"})
    report = world.job().run()
    assert report.ok, report.errors
    assert world.local_count() == 2
    assert world.local()["b@example.com"][0] == "B"
    assert world.local()["a0@example.com"][0] == "A"
    assert world.local() == world.klaviyo()
