"""The export sinks: aggregates replaced by key, events appended once, crashes recovered."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from klaviyo_kit.jobs._sinks import (
    TAIL_ROWS,
    CSVSink,
    DailyAggregate,
    ExportedEvent,
    JSONLSink,
    Sink,
)
from klaviyo_kit.jobs._sinks_sql import SQLSink

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def aggregate(day: int, count: int, metric: str = "M1") -> DailyAggregate:
    return DailyAggregate(metric, "Placed Order", date(2026, 11, day), "UTC", count, count * 2.5, 1)


def event(n: int, metric: str = "M1", **properties: object) -> ExportedEvent:
    return ExportedEvent(
        f"E{n:04d}",
        metric,
        f"P{n % 3}",
        T0 + timedelta(minutes=n),
        float(n) if n % 2 else None,
        f"uuid-{n}",
        properties or {"n": n},  # type: ignore[arg-type]
    )


@pytest.fixture(
    params=["csv", "jsonl", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def sink(request: pytest.FixtureRequest, tmp_path):
    if request.param == "csv":
        yield CSVSink(tmp_path)
    elif request.param == "jsonl":
        yield JSONLSink(tmp_path)
    elif request.param == "sqlite":
        made = SQLSink(f"sqlite:///{tmp_path / 'x.db'}")
        yield made
        made.close()
    else:
        made = SQLSink(
            request.getfixturevalue("postgres_url"), table_prefix=f"kkt_{uuid.uuid4().hex[:10]}_"
        )
        yield made
        made.metadata.drop_all(made.engine)
        made.close()


def test_every_sink_is_a_sink(sink):
    assert isinstance(sink, Sink)


def test_aggregates_are_replaced_by_metric_and_day(sink):
    assert sink.write_aggregates([]) == 0
    assert sink.write_aggregates([aggregate(1, 1), aggregate(2, 2), aggregate(1, 5, "M2")]) == 3
    assert sink.write_aggregates([aggregate(2, 7), aggregate(3, 3)]) == 2
    assert sink.read_aggregates() == [
        aggregate(1, 1),
        aggregate(2, 7),
        aggregate(3, 3),
        aggregate(1, 5, "M2"),
    ]


def test_events_round_trip(sink):
    tricky = event(1, note='a "quoted", comma\nline', nested={"k": [1, 2]}, text="naïve")
    assert sink.write_events([]) == 0
    assert sink.write_events([tricky, event(2)]) == 2
    rows = list(sink.iter_events())
    assert [str(r["event_id"]) for r in rows] == ["E0001", "E0002"]
    assert rows[0]["properties"] == {
        "note": 'a "quoted", comma\nline',
        "nested": {"k": [1, 2]},
        "text": "naïve",
    }
    assert str(rows[0]["profile_id"]) == "P1"
    assert float(str(rows[0]["value"])) == 1.0
    assert rows[1]["value"] in {None, ""}


def test_sql_sinks_skip_known_event_ids(tmp_path):
    sink = SQLSink(f"sqlite:///{tmp_path / 'x.db'}")
    assert sink.write_events([event(1), event(2)]) == 2
    assert sink.write_events([event(2), event(3), event(3)]) == 1
    assert [r["event_id"] for r in sink.iter_events()] == ["E0001", "E0002", "E0003"]
    assert "x.db" in repr(sink)


@pytest.mark.parametrize("kind", [CSVSink, JSONLSink])
def test_a_file_sink_does_not_append_the_last_page_twice_after_a_crash(tmp_path, kind):
    kind(tmp_path).write_events([event(n) for n in range(TAIL_ROWS + 50)])
    # A new process re-sends the last, never checkpointed page: nothing is appended twice...
    restarted = kind(tmp_path)
    assert restarted.write_events([event(n) for n in range(TAIL_ROWS, TAIL_ROWS + 60)]) == 10
    ids = [r["event_id"] for r in restarted.iter_events()]
    assert len(ids) == len(set(ids)) == TAIL_ROWS + 60
    # ...and only the last page is checked, so memory stays bounded.
    assert len(restarted._tails["M1"].ids) == TAIL_ROWS


@pytest.mark.parametrize("kind", [CSVSink, JSONLSink])
def test_a_torn_last_line_is_cut_before_appending(tmp_path, kind):
    first = kind(tmp_path)
    first.write_events([event(1), event(2)])
    with first.events_path("M1").open("a", encoding="utf-8") as out:
        out.write('E0003,"half a ro')
    assert kind(tmp_path).write_events([event(3)]) == 1
    assert [r["event_id"] for r in kind(tmp_path).iter_events()] == ["E0001", "E0002", "E0003"]


def test_a_torn_first_line_empties_the_file(tmp_path):
    sink = JSONLSink(tmp_path)
    sink.events_directory.mkdir()
    sink.events_path("M1").write_text('{"event_id": "E00', encoding="utf-8")
    assert sink.write_events([event(1)]) == 1
    assert [r["event_id"] for r in sink.iter_events()] == ["E0001"]


def test_file_sinks_rewrite_aggregates_atomically(tmp_path):
    sink = CSVSink(tmp_path)
    sink.write_aggregates([aggregate(1, 1)])
    sink.write_aggregates([aggregate(1, 2)])
    assert sink.aggregates_path.read_text(encoding="utf-8").splitlines() == [
        "metric_id,metric_name,day,timezone,count,sum_value,unique_profiles",
        "M1,Placed Order,2026-11-01,UTC,2,5.0,1",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metric_aggregates.csv"]
    assert repr(sink) == f"CSVSink({str(tmp_path)!r})"
    assert list(CSVSink(tmp_path / "empty").iter_events()) == []
    assert list(JSONLSink(tmp_path / "empty").iter_events()) == []
    assert JSONLSink(tmp_path / "empty").read_aggregates() == []
    sink.close()


def test_sql_sink_rejects_other_databases():
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_mock_engine("mysql://", lambda *a, **k: None)
    with pytest.raises(ValueError, match="SQLite and PostgreSQL"):
        SQLSink(engine)


@pytest.mark.parametrize("kind", [CSVSink, JSONLSink])
def test_each_metric_has_its_own_file_and_tail(tmp_path, kind):
    sink = kind(tmp_path)
    assert sink.write_events([event(n, "MX") for n in range(10)]) == 10
    # Another metric's pages in between do not push MX's last page out of its tail.
    assert (
        sink.write_events([event(n, "MY") for n in range(100, 100 + TAIL_ROWS + 5)])
        == TAIL_ROWS + 5
    )
    assert sink.write_events([event(n, "MX") for n in range(5, 15)]) == 5
    assert sorted(p.name for p in sink.events_directory.iterdir()) == [
        f"MX.{sink.extension}",
        f"MY.{sink.extension}",
    ]
    assert sum(1 for _ in sink.iter_events()) == 15 + TAIL_ROWS + 5
    with pytest.raises(ValueError, match="metric id"):
        sink.events_path("../escape")
