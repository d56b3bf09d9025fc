"""MetricsExportJob against the sandbox: re-runs add no rows, late events, resumes, time zones."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import BackendUnavailableError
from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.jobs import Job, load_status
from klaviyo_kit.jobs._metrics_export import MetricsExportJob
from klaviyo_kit.jobs._sinks import CSVSink, JSONLSink, Sink
from klaviyo_kit.jobs._sinks_sql import SQLSink
from klaviyo_kit.sandbox import Sandbox

KEY = "pk_" + "f6" * 17
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
START = date(2026, 11, 14)
ORDER = "Placed Order"


@dataclass
class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and keeps the metric aggregate bodies it sent."""

    inner: httpx.BaseTransport
    aggregate_bodies: list[dict[str, object]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/api/metric-aggregates":
            self.aggregate_bodies.append(json.loads(request.content))
        return self.inner.handle_request(request)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=11, rate_limits=False)


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    return Recorder(sandbox.transport())


@pytest.fixture
def client(recorder: Recorder):
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    with KlaviyoClient(settings, transport=recorder, sleep=lambda _: None) as c:
        yield c


@pytest.fixture(params=["csv", "jsonl", "sqlite"])
def sink(request: pytest.FixtureRequest, tmp_path) -> Sink:
    if request.param == "csv":
        return CSVSink(tmp_path / "out")
    if request.param == "jsonl":
        return JSONLSink(tmp_path / "out")
    return SQLSink(f"sqlite:///{tmp_path / 'export.db'}")


def track(
    client: KlaviyoClient, when: datetime, value: float = 1.0, who: str = "a", metric: str = ORDER
) -> None:
    client.events.track(metric, f"{who}@example.com", value=value, time=when)


def seed(client: KlaviyoClient) -> None:
    """Ten orders from Nov 15 to Nov 18 (three profiles), the last two five minutes apart."""
    first = datetime(2026, 11, 15, 10, tzinfo=timezone.utc)
    for i in range(8):
        track(client, first + timedelta(hours=9 * i), value=float(i), who=f"p{i % 3}")
    last = datetime(2026, 11, 18, 20, tzinfo=timezone.utc)
    track(client, last - timedelta(minutes=5), value=10.0, who="p0")
    track(client, last, value=20.0, who="p1")


def job_for(client, store, sink, **options) -> MetricsExportJob:
    options.setdefault("metrics", [ORDER])
    options.setdefault("start", START)
    return MetricsExportJob(client, store, sink, now=lambda: NOW, **options)


def event_ids(sink) -> list[str]:
    return [str(row["event_id"]) for row in sink.iter_events()]


def by_day(sink) -> dict[date, tuple[int, float, int]]:
    return {r.day: (r.count, r.sum_value, r.unique_profiles) for r in sink.read_aggregates()}


def test_a_rerun_adds_no_rows(client, sink):
    seed(client)
    store = MemoryStateStore()
    job = job_for(client, store, sink)
    assert isinstance(job, Job)
    first = job.run()
    assert first.ok, first.errors
    assert first.counts == {"aggregate_rows": 7, "events_exported": 10, "duplicates_skipped": 0}
    assert first.watermark == datetime(2026, 11, 18, 20, tzinfo=timezone.utc)
    days = by_day(sink)
    assert sorted(days) == [START + timedelta(days=n) for n in range(7)]
    assert days[date(2026, 11, 14)] == (0, 0.0, 0)
    assert days[date(2026, 11, 15)] == (2, 1.0, 2)
    assert days[date(2026, 11, 18)] == (3, 37.0, 2)
    assert sum(count for count, _, _ in days.values()) == 10

    second = job.run()
    assert second.ok
    # The last three days are aggregated again; the overlap re-reads the last two events.
    assert second.counts == {"aggregate_rows": 3, "events_exported": 0, "duplicates_skipped": 2}
    assert by_day(sink) == days
    ids = event_ids(sink)
    assert len(ids) == len(set(ids)) == 10
    status = load_status(store, job.name)
    assert status.last_success == NOW
    assert status.last_report["counts"] == second.counts


def test_late_events_are_picked_up_in_the_reaggregation_window(client, sink):
    seed(client)
    store = MemoryStateStore()
    job = job_for(client, store, sink)
    job.run()
    before = by_day(sink)
    track(client, datetime(2026, 11, 19, 8, tzinfo=timezone.utc), value=5.0, who="late")
    track(client, datetime(2026, 11, 18, 19, 58, tzinfo=timezone.utc), value=1.0, who="late")
    track(client, datetime(2026, 11, 15, 12, tzinfo=timezone.utc), value=9.0, who="old")
    report = job.run()
    after = by_day(sink)
    assert after[date(2026, 11, 19)] == (before[date(2026, 11, 19)][0] + 1, 5.0, 1)
    assert after[date(2026, 11, 18)] == (4, 38.0, 3)
    # Nov 15 is before the three-day window (Nov 18-20): it is not aggregated again.
    assert after[date(2026, 11, 15)] == before[date(2026, 11, 15)]
    # Raw events: the ones after the watermark or inside the overlap are exported once.
    assert report.counts["events_exported"] == 2
    ids = event_ids(sink)
    assert len(ids) == len(set(ids)) == 12
    assert job.run().counts["events_exported"] == 0


def test_a_wider_window_reaggregates_more_days(client, tmp_path):
    seed(client)
    sink = JSONLSink(tmp_path)
    job = job_for(client, MemoryStateStore(), sink, reaggregate_days=6, events=False)
    assert job.run().counts["aggregate_rows"] == 7
    track(client, datetime(2026, 11, 15, 12, tzinfo=timezone.utc), value=9.0, who="old")
    report = job.run()
    assert report.counts == {"aggregate_rows": 6, "events_exported": 0, "duplicates_skipped": 0}
    assert report.watermark is None
    assert by_day(sink)[date(2026, 11, 15)] == (3, 10.0, 3)


def test_events_resume_from_the_watermark(client, sink):
    seed(client)
    store = MemoryStateStore()
    pages: list[int] = []

    def stop_after_two_pages() -> bool:
        pages.append(1)
        return len(pages) >= 2

    job = job_for(client, store, sink, aggregates=False, page_size=3)
    stopped = job.run(should_stop=stop_after_two_pages)
    assert not stopped.complete
    assert stopped.counts["events_exported"] == 6
    assert len(event_ids(sink)) == 6
    mark = store.get_watermark(f"jobs:{job.name}:events:{client.metrics.get_id(ORDER)}")
    assert mark == stopped.watermark is not None

    # A new job object on the same store (a new process) carries on from the checkpoint.
    resumed = job_for(client, store, sink, aggregates=False, page_size=3).run()
    assert resumed.complete
    assert resumed.counts["events_exported"] == 4
    ids = event_ids(sink)
    assert len(ids) == len(set(ids)) == 10
    assert load_status(store, job.name).watermark == datetime(2026, 11, 18, 20, tzinfo=timezone.utc)


def test_stopping_during_aggregates_resumes_from_the_cursor(client, tmp_path):
    seed(client)
    store = MemoryStateStore()
    sink = CSVSink(tmp_path)
    early = date(2026, 9, 1)  # 81 days: three chunks of at most 31 days
    job = job_for(client, store, sink, start=early, events=False)
    stopped = job.run(should_stop=lambda: True)
    assert not stopped.complete
    assert stopped.counts["aggregate_rows"] == 31
    done = job.run()
    assert done.complete
    days = by_day(sink)
    assert len(days) == (NOW.date() - early).days + 1
    assert sum(count for count, _, _ in days.values()) == 10


def test_the_time_zone_comes_from_the_account_or_the_override(client, recorder, tmp_path):
    seed(client)
    account = JSONLSink(tmp_path / "a")
    job = job_for(client, MemoryStateStore(), account, events=False)
    assert job.account_timezone() == "UTC"
    job.run()
    assert {r.timezone for r in account.read_aggregates()} == {"UTC"}
    assert "/api/accounts" in recorder.paths

    recorder.aggregate_bodies.clear()
    recorder.paths.clear()
    sink = JSONLSink(tmp_path / "b")
    job = job_for(client, MemoryStateStore(), sink, events=False, timezone="America/New_York")
    assert job.run().ok
    assert "/api/accounts" not in recorder.paths
    [body] = recorder.aggregate_bodies
    attributes = body["data"]["attributes"]
    assert attributes["timezone"] == "America/New_York"
    assert attributes["filter"][0] == "greater-or-equal(datetime,2026-11-14T05:00:00+00:00)"
    assert attributes["filter"][1] == "less-than(datetime,2026-11-21T05:00:00+00:00)"
    assert {r.timezone for r in sink.read_aggregates()} == {"America/New_York"}


def test_metrics_by_id_and_unknown_names(client, tmp_path):
    seed(client)
    track(client, datetime(2026, 11, 16, tzinfo=timezone.utc), metric="Viewed Product")
    viewed = client.metrics.get_id("Viewed Product")
    assert viewed is not None
    sink = JSONLSink(tmp_path)
    job = job_for(
        client, MemoryStateStore(), sink, metrics=[ORDER, "Nope"], metric_ids=[viewed, "NOPE00"]
    )
    report = job.run()
    assert not report.ok
    assert len(report.errors) == 2
    assert "'Nope' not found" in report.errors[0]
    assert "NotFoundError" in report.errors[1]
    assert report.counts["events_exported"] == 11
    names = {r.metric_name for r in sink.read_aggregates()}
    assert names == {ORDER, "Viewed Product"}


def test_a_default_start_is_kept_from_the_first_run(client, tmp_path):
    track(client, NOW - timedelta(days=29))
    track(client, NOW - timedelta(days=31))
    store = MemoryStateStore()
    sink = JSONLSink(tmp_path)
    job = MetricsExportJob(client, store, sink, metrics=[ORDER], now=lambda: NOW)
    assert job.run().counts["events_exported"] == 1
    later = MetricsExportJob(
        client, store, sink, metrics=[ORDER], now=lambda: NOW + timedelta(days=5)
    )
    assert later.run().counts["events_exported"] == 0
    assert min(r.day for r in sink.read_aggregates()) == (NOW - timedelta(days=30)).date()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metrics": []}, "needs metrics"),
        ({"reaggregate_days": -1}, "reaggregate_days"),
        ({"overlap": timedelta(seconds=-1)}, "overlap"),
        ({"page_size": 1001}, "page_size"),
        ({"aggregates": False, "events": False}, "aggregates=True"),
        ({"metrics": [" "]}, "non-empty"),
    ],
)
def test_bad_options_fail_in_the_constructor(client, tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        job_for(client, MemoryStateStore(), JSONLSink(tmp_path), **options)


def test_an_unknown_time_zone_or_one_name_as_a_list_fails(client, tmp_path):
    with pytest.raises(ValueError, match="Mars"):
        job_for(client, MemoryStateStore(), JSONLSink(tmp_path), timezone="Mars/Olympus")
    with pytest.raises(TypeError, match="list of strings"):
        job_for(client, MemoryStateStore(), JSONLSink(tmp_path), metrics=ORDER)


@pytest.fixture
def postgres_sink(postgres_url: str):
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(postgres_url, connect_args={"connect_timeout": 2})
    sink = SQLSink(engine, table_prefix=f"kkt_{uuid.uuid4().hex[:10]}_")
    yield sink
    sink.metadata.drop_all(engine)
    engine.dispose()


@pytest.mark.postgres
def test_the_postgres_sink_upserts_on_rerun(client, postgres_sink):
    seed(client)
    store = MemoryStateStore()
    job = job_for(client, store, postgres_sink)
    assert job.run().counts["events_exported"] == 10
    track(client, datetime(2026, 11, 19, 8, tzinfo=timezone.utc), value=5.0, who="late")
    again = job.run()
    assert again.counts == {"aggregate_rows": 3, "events_exported": 1, "duplicates_skipped": 2}
    # Writing the same page again (a crash before the checkpoint) adds nothing either.
    store2 = MemoryStateStore()
    replay = job_for(client, store2, postgres_sink).run()
    assert replay.counts["events_exported"] == 0
    assert replay.counts["duplicates_skipped"] == 11
    ids = event_ids(postgres_sink)
    assert len(ids) == len(set(ids)) == 11
    days = by_day(postgres_sink)
    assert len(days) == 7
    assert days[date(2026, 11, 19)] == (1, 5.0, 1)


class FlakyStore(MemoryStateStore):
    """Fails the second watermark checkpoint once: a crash after a page was written."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def advance_watermark(self, name: str, value: datetime) -> datetime:
        self.calls += 1
        if self.calls == 2:
            raise BackendUnavailableError("sql store", "connection lost")
        return super().advance_watermark(name, value)


def reopen(sink: Sink, tmp_path) -> Sink:
    """The same sink as a new process would open it."""
    if isinstance(sink, CSVSink):
        return CSVSink(tmp_path / "out")
    if isinstance(sink, JSONLSink):
        return JSONLSink(tmp_path / "out")
    return sink


@pytest.mark.parametrize("restart", [True, False], ids=["new-process", "same-process"])
def test_a_page_written_before_a_failed_checkpoint_is_not_exported_twice(
    client, sink, tmp_path, restart
):
    seed(client)
    store = FlakyStore()
    job = job_for(client, store, sink, aggregates=False, page_size=3)
    failed = job.run()
    assert not failed.complete
    assert "BackendUnavailableError" in failed.errors[0]
    assert len(event_ids(sink)) == 6  # the second page is in the sink, its checkpoint is not
    resumed_sink = reopen(sink, tmp_path) if restart else sink
    again = job_for(client, store, resumed_sink, aggregates=False, page_size=3).run()
    assert again.ok, again.errors
    assert again.counts["events_exported"] == 4
    ids = event_ids(sink)
    assert len(ids) == len(set(ids)) == 10


class AccountZone(httpx.BaseTransport):
    """Serves the sandbox, with the account's time zone replaced (``None`` removes it)."""

    def __init__(self, inner: httpx.BaseTransport, zone: str | None) -> None:
        self.inner = inner
        self.zone = zone

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/api/accounts":
            return response
        document = json.loads(response.read())
        attributes = document["data"][0]["attributes"]
        if self.zone is None:
            del attributes["timezone"]
        else:
            attributes["timezone"] = self.zone
        return httpx.Response(200, json=document)


@pytest.mark.parametrize(("zone", "expected"), [("Europe/Paris", "Europe/Paris"), (None, "UTC")])
def test_the_account_zone_is_used_and_utc_without_one(sandbox, tmp_path, zone, expected):
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    transport = AccountZone(sandbox.transport(), zone)
    with KlaviyoClient(settings, transport=transport, sleep=lambda _: None) as c:
        seed(c)
        sink = JSONLSink(tmp_path)
        assert job_for(c, MemoryStateStore(), sink, events=False).run().ok
        assert {r.timezone for r in sink.read_aggregates()} == {expected}


def test_an_account_zone_unknown_here_is_reported(sandbox, tmp_path):
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    transport = AccountZone(sandbox.transport(), "Mars/Olympus")
    with KlaviyoClient(settings, transport=transport, sleep=lambda _: None) as c:
        seed(c)
        report = job_for(c, MemoryStateStore(), JSONLSink(tmp_path)).run()
    assert not report.complete
    assert "ConfigurationError" in report.errors[0]
    assert "Mars/Olympus" in report.errors[0]
    assert report.counts["aggregate_rows"] == 0


class StatusLost(MemoryStateStore):
    def set_cursor(self, name: str, value: str) -> None:
        if name.endswith(":status"):
            raise BackendUnavailableError("sql store", "connection lost")
        super().set_cursor(name, value)


def test_a_status_that_cannot_be_saved_is_reported(client, tmp_path):
    seed(client)
    report = job_for(client, StatusLost(), JSONLSink(tmp_path)).run()
    assert report.counts["events_exported"] == 10
    assert not report.ok
    assert report.errors == (
        "status not saved: BackendUnavailableError: sql store unavailable: connection lost",
    )
