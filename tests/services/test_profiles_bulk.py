"""``profiles.bulk_import`` against the sandbox's real bulk import jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient
from klaviyo_kit.sandbox import Sandbox

pytestmark = pytest.mark.anyio

JOBS = "/api/profile-bulk-import-jobs"


def rows(count: int, start: int = 0) -> Iterator[dict[str, object]]:
    for i in range(start, start + count):
        yield {"email": f"bulk{i}@example.com", "properties": {"n": i}}


@pytest.mark.parametrize(("count", "jobs"), [(9_999, 1), (10_000, 1), (10_001, 2)])
def test_chunks_at_10000_profiles(client: KlaviyoClient, sandbox: Sandbox, recorder, count, jobs):
    report = client.profiles.bulk_import(rows(count), poll_interval=0)
    assert report.finished
    assert len(report.job_ids) == jobs
    assert [m for m, p, _ in recorder.calls if p == JOBS] == ["POST"] * jobs
    assert report.rows == report.submitted == report.completed == count
    assert report.failed == 0
    assert len(sandbox.account.profiles) == count


def test_chunks_at_5_mb(client: KlaviyoClient, recorder):
    # ~90 KB each: 5 MB holds about 56, so 120 rows take three requests of at most 5 MB.
    big = (
        {"email": f"big{i}@example.com", "properties": {"blob": "x" * 90_000}} for i in range(120)
    )
    report = client.profiles.bulk_import(big, poll_interval=0)
    assert report.completed == 120
    assert len(report.job_ids) == 3


def test_invalid_rows_are_reported_not_sent(client: KlaviyoClient, sandbox: Sandbox):
    data: list[dict[str, object]] = [
        {"email": "ok1@example.com"},
        {"email": "not-an-email"},
        {"first_name": "no identifier"},
        {"email": "ok2@example.com", "properties": {"big": "x" * 200_000}},
        {"email": "ok3@example.com"},
    ]
    report = client.profiles.bulk_import(data, poll_interval=0)
    assert report.rows == 5
    assert report.submitted == report.completed == 2
    assert report.failed == 3
    assert [(e.index, e.field) for e in report.errors] == [
        (1, "rows[1].email"),
        (2, "rows[2]"),
        (3, "rows[3].properties.big"),
    ]
    assert len(sandbox.account.profiles) == 2


def test_klaviyos_per_row_errors_map_back_to_rows(client: KlaviyoClient):
    client.profiles.upsert({"email": "taken@example.com"})
    client.profiles.upsert({"phone_number": "+15005550006"})
    data = [
        {"email": "fine@example.com"},
        # email and phone belong to two different profiles: Klaviyo rejects the row in the job
        {"email": "taken@example.com", "phone_number": "+15005550006"},
    ]
    report = client.profiles.bulk_import(data, poll_interval=0)
    assert report.finished
    assert report.completed == 1
    assert report.failed == 1
    (error,) = report.errors
    assert error.index == 1
    assert error.reason


def test_list_relationship_and_no_wait(client: KlaviyoClient, sandbox: Sandbox):
    created = client.lists.create("Imported")
    assert created.id is not None
    report = client.profiles.bulk_import(rows(5), list_id=created.id, wait=False)
    assert not report.finished
    assert report.submitted == 5
    assert len(report.job_ids) == 1
    finished = client.profiles.bulk_import(rows(3, start=100), list_id=created.id, poll_interval=0)
    assert finished.finished
    assert len(sandbox.account.list_members[created.id]) >= 3


def test_polling_stops_at_the_timeout(client: KlaviyoClient):
    report = client.profiles.bulk_import(rows(2), poll_interval=1.0, timeout=0)
    assert not report.finished
    assert report.submitted == 2


async def test_async_bulk_import(aclient: AsyncKlaviyoClient, sandbox: Sandbox):
    report = await aclient.profiles.bulk_import(rows(1_500), poll_interval=0)
    assert report.finished
    assert report.completed == 1_500
    assert len(sandbox.account.profiles) == 1_500
