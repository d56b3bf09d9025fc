"""MetricAggregate values and the aggregate query body, without I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services import AggregateRow, MetricAggregate
from klaviyo_kit.services._aggregates import aggregate_body, parse_aggregate

NEW_YORK = timezone(timedelta(hours=-5))


def test_grouped_rows_sum_per_bucket_and_days_follow_the_given_offset():
    data = {
        "type": "metric-aggregate",
        "attributes": {
            "dates": ["2026-03-01T00:00:00-05:00", "2026-03-02T00:00:00-05:00"],
            "data": [
                {
                    "dimensions": ["email"],
                    "measurements": {"count": [1, 2], "sum_value": [3, None]},
                },
                {"dimensions": ["sms"], "measurements": {"count": [4, 0]}},
                "junk",
            ],
        },
    }
    result = parse_aggregate("M1", "day", data)
    assert result.rows == (
        AggregateRow(("email",), {"count": (1.0, 2.0), "sum_value": (3.0, 0.0)}),
        AggregateRow(("sms",), {"count": (4.0, 0.0)}),
    )
    assert result.by_day("count") == {date(2026, 3, 1): 5.0, date(2026, 3, 2): 2.0}
    assert result.by_day("sum_value") == {date(2026, 3, 1): 3.0, date(2026, 3, 2): 0.0}
    assert result.dates[0] == datetime(2026, 3, 1, tzinfo=NEW_YORK)


def test_an_empty_answer_is_an_empty_aggregate():
    assert parse_aggregate("M1", "day", None) == MetricAggregate("M1", "day", ())


def test_body_bounds_the_range_and_groups():
    start = datetime(2026, 3, 1, tzinfo=NEW_YORK)
    body = aggregate_body(
        " M1 ",
        start=start,
        end=start + timedelta(days=1),
        measurements=["count", "count"],
        interval="hour",
        by=["$message"],
        timezone_name="America/New_York",
    )
    assert body == {
        "data": {
            "type": "metric-aggregate",
            "attributes": {
                "metric_id": "M1",
                "measurements": ["count"],
                "interval": "hour",
                "filter": [
                    "greater-or-equal(datetime,2026-03-01T05:00:00+00:00)",
                    "less-than(datetime,2026-03-02T05:00:00+00:00)",
                ],
                "timezone": "America/New_York",
                "by": ["$message"],
            },
        }
    }


def test_a_lone_measurement_string_is_one_measurement():
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    body = aggregate_body(
        "M1",
        start=start,
        end=start + timedelta(days=1),
        measurements="sum_value",  # type: ignore[arg-type]
        interval="day",
        by=(),
        timezone_name="UTC",
    )
    data = body["data"]
    assert isinstance(data, dict)
    attributes = data["attributes"]
    assert isinstance(attributes, dict)
    assert attributes["measurements"] == ["sum_value"]
    assert "by" not in attributes


def test_end_before_start_names_end():
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with pytest.raises(InvalidInputError) as info:
        aggregate_body(
            "M1",
            start=start,
            end=start - timedelta(1),
            measurements=["count"],
            interval="day",
            by=(),
            timezone_name="UTC",
        )
    assert info.value.field == "end"
