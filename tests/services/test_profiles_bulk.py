"""``profiles.bulk_import`` against the sandbox's real bulk import jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient
from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.services import Call, run_flow
from klaviyo_kit.services._profile_import import bulk_import_flow
from klaviyo_kit.services._validate import MAX_PAYLOAD_BYTES, MAX_PROFILE_BYTES

pytestmark = pytest.mark.anyio

JOBS = "/api/profile-bulk-import-jobs"
POLL = 0.01  # the clients here sleep for no time at all


def rows(count: int, start: int = 0) -> Iterator[dict[str, object]]:
    for i in range(start, start + count):
        yield {"email": f"bulk{i}@example.com", "properties": {"n": i}}


@pytest.mark.parametrize(("count", "jobs"), [(9_999, 1), (10_000, 1), (10_001, 2)])
async def test_chunks_at_10000_profiles(kit, count, jobs):
    report = await kit(kit.client.profiles.bulk_import(rows(count), poll_interval=POLL))
    assert report.finished
    assert len(report.job_ids) == jobs
    assert [m for m, p in kit.requests if p == JOBS] == ["POST"] * jobs
    assert report.rows == report.submitted == report.completed == count
    assert report.failed == 0
    assert len(kit.sandbox.account.profiles) == count


async def test_chunks_at_5_mb(kit):
    # ~90 KB each: 5 MB holds about 56, so 120 rows take three requests of at most 5 MB.
    big = (
        {"email": f"big{i}@example.com", "properties": {"blob": "x" * 90_000}} for i in range(120)
    )
    report = await kit(kit.client.profiles.bulk_import(big, poll_interval=POLL))
    assert report.completed == 120
    assert len(report.job_ids) == 3
    sizes = kit.recorder.sizes(JOBS)
    assert len(sizes) == 3
    assert all(size <= MAX_PAYLOAD_BYTES for size in sizes), sizes
    assert sizes[0] > MAX_PAYLOAD_BYTES - 100_000, "a chunk is filled before a new one starts"


def profile_of_size(size: int, email: str) -> dict[str, object]:
    """A row whose JSON attributes are exactly ``size`` bytes, as the limit counts them."""
    row: dict[str, object] = {"email": email, "properties": {"b": ""}}
    padding = size - len(json.dumps(row, separators=(",", ":")))
    return {"email": email, "properties": {"b": "x" * padding}}


@pytest.mark.parametrize(
    ("size", "imported"),
    [(MAX_PROFILE_BYTES - 1, True), (MAX_PROFILE_BYTES, True), (MAX_PROFILE_BYTES + 1, False)],
)
async def test_a_profile_may_be_100_kb_and_no_more(kit, size, imported):
    report = await kit(
        kit.client.profiles.bulk_import(
            [profile_of_size(size, "edge@example.com")], poll_interval=POLL
        )
    )
    assert report.submitted == int(imported)
    assert report.completed == int(imported)
    if not imported:
        [error] = report.errors
        assert (error.index, error.field) == (0, "rows[0]")
        assert "100 KB" in error.reason
        assert kit.requests == []


def test_invalid_rows_are_reported_not_sent(client: KlaviyoClient, sandbox: Sandbox):
    data: list[dict[str, object]] = [
        {"email": "ok1@example.com"},
        {"email": "not-an-email"},
        {"first_name": "no identifier"},
        {"email": "ok2@example.com", "properties": {"big": "x" * 200_000}},
        {"email": "ok3@example.com"},
    ]
    report = client.profiles.bulk_import(data, poll_interval=POLL)
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
    report = client.profiles.bulk_import(data, poll_interval=POLL)
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
    finished = client.profiles.bulk_import(
        rows(3, start=100), list_id=created.id, poll_interval=POLL
    )
    assert finished.finished
    assert len(sandbox.account.list_members[created.id]) >= 3


async def test_imports_submitted_side_by_side_are_finished_by_wait_import(kit):
    await kit(kit.client.profiles.upsert({"email": "taken@example.com"}))
    await kit(kit.client.profiles.upsert({"phone_number": "+15005550006"}))
    first = await kit(kit.client.profiles.bulk_import(rows(3), wait=False))
    clash = [
        {"email": "new@example.com"},
        {"email": "taken@example.com", "phone_number": "+15005550006"},
    ]
    second = await kit(kit.client.profiles.bulk_import(clash, wait=False))
    assert (first.finished, second.finished) == (False, False)
    # A timeout of 0 polls each unfinished job once: the sandbox's jobs take two polls.
    await kit(kit.client.profiles.wait_import(first, poll_interval=POLL, timeout=0))
    assert not first.finished
    assert [m for m, p in kit.requests if p.startswith(JOBS + "/")] == ["GET"]
    await kit(kit.client.profiles.wait_import(first, poll_interval=POLL))
    await kit(kit.client.profiles.wait_import(second, poll_interval=POLL))
    assert (first.finished, first.completed, first.failed) == (True, 3, 0)
    assert (second.finished, second.completed, second.failed) == (True, 1, 1)
    (error,) = second.errors
    assert error.index == 1, "Klaviyo's error maps back to the caller's row"
    polls = len(kit.requests)
    # A finished report has nothing left to poll.
    assert await kit(kit.client.profiles.wait_import(first, poll_interval=POLL)) is first
    assert len(kit.requests) == polls


def test_wait_import_refuses_a_poll_interval_of_zero(client: KlaviyoClient):
    report = client.profiles.bulk_import(rows(1), wait=False)
    with pytest.raises(InvalidInputError, match="poll_interval"):
        client.profiles.wait_import(report, poll_interval=0)


def test_polling_stops_at_the_timeout(client: KlaviyoClient):
    report = client.profiles.bulk_import(rows(2), poll_interval=1.0, timeout=0)
    assert not report.finished
    assert report.submitted == 2


async def test_async_bulk_import(aclient: AsyncKlaviyoClient, sandbox: Sandbox):
    report = await aclient.profiles.bulk_import(rows(1_500), poll_interval=POLL)
    assert report.finished
    assert report.completed == 1_500
    assert len(sandbox.account.profiles) == 1_500


def test_the_polling_deadline_counts_slow_polls():
    now = [0.0]
    calls: list[Call] = []

    def execute(call: Call) -> object:
        calls.append(call)
        now[0] += 30  # every request takes 30 s (throttled, retried)
        if call.method == "bulk_import_profiles":
            return {"data": {"type": "profile-bulk-import-job", "id": "J1", "attributes": {}}}
        attributes = {"status": "processing", "total_count": 1}
        return {"data": {"type": "profile-bulk-import-job", "id": "J1", "attributes": attributes}}

    def sleep(seconds: float) -> None:
        now[0] += seconds

    flow = bulk_import_flow(
        rows(1), None, wait=True, poll_interval=1, timeout=60, clock=lambda: now[0]
    )
    report = run_flow(flow, execute, sleep)
    assert not report.finished
    assert [c.method for c in calls] == ["bulk_import_profiles"] + [
        "get_bulk_import_profiles_job"
    ] * 2
