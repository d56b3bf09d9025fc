"""Bulk profile import: stream rows into jobs Klaviyo accepts, poll them, map errors to rows.

Rows are validated one by one (bad rows become :class:`RowError` values, never requests) and
sent in jobs of at most 10,000 profiles and 5 MB. Only the caller's row numbers of the current
chunk are kept (8 bytes each), so memory stays flat however many rows stream through.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sdk.types import Document, ProfileImportJob, next_cursor
from klaviyo_kit.services._flow import Call, Deadline, Flow
from klaviyo_kit.services._ids import require_id
from klaviyo_kit.services._inputs import ProfileInput, coerce
from klaviyo_kit.services._validate import MAX_PAYLOAD_BYTES, json_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence


__all__ = ["MAX_IMPORT_ROWS", "ImportReport", "RowError", "bulk_import_flow", "wait_import_flow"]

MAX_IMPORT_ROWS: Final = 10_000
"""Klaviyo's limit of profiles per bulk import job."""
_ENVELOPE_BYTES: Final = 512
_MAX_KEPT_ERRORS: Final = 10_000


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one input row of a bulk import was not imported.

    Attributes:
        index: The row's position in the caller's iterable (0-based).
        field: The offending field, when known.
        reason: What was wrong, from our validation or Klaviyo's import errors.
    """

    index: int | None
    field: str | None
    reason: str


@dataclass(slots=True)
class ImportReport:
    """The outcome of :meth:`Profiles.bulk_import`.

    Attributes:
        job_ids: The Klaviyo bulk import jobs started, one per chunk.
        rows: Rows read from the caller's iterable.
        submitted: Rows sent to Klaviyo (``rows`` minus those rejected locally).
        completed: Rows Klaviyo imported (known once the jobs finished).
        failed: Rows Klaviyo rejected plus rows rejected locally.
        errors: Per-row errors (the first 10,000; ``errors_dropped`` counts the rest).
        finished: Whether every job reached a final status.
    """

    job_ids: list[str] = field(default_factory=list)
    rows: int = 0
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_dropped: int = 0
    finished: bool = False
    _unfinished: dict[str, array[int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Jobs not yet seen finished, each with its rows' numbers (to map Klaviyo's errors)."""

    def add_error(self, error: RowError) -> None:
        """Record a row error, keeping memory bounded."""
        self.failed += 1
        if len(self.errors) < _MAX_KEPT_ERRORS:
            self.errors.append(error)
        else:
            self.errors_dropped += 1


def bulk_import_flow(
    rows: Iterable[ProfileInput | Mapping[str, object]],
    list_id: str | None,
    *,
    wait: bool,
    poll_interval: float,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[ImportReport]:
    """Import ``rows`` in chunks, then (with ``wait``) poll the jobs and collect row errors.

    The polling deadline counts the pauses or the wall time (``clock``), whichever is more; a
    ``poll_interval`` of zero is refused, as it would poll a stuck job as fast as possible.

    Raises:
        InvalidInputError: Before any request, for an empty ``list_id``, a ``poll_interval``
            that is not positive or a negative ``timeout``.
    """
    target = None if list_id is None else require_id(list_id, "list_id")
    if poll_interval <= 0:
        raise InvalidInputError("poll_interval", f"must be positive seconds, got {poll_interval}")
    if timeout < 0:
        raise InvalidInputError("timeout", f"must not be negative, got {timeout}")
    report = ImportReport()
    yield from _submit_all(rows, target, report)
    if wait:
        yield from _poll(report, poll_interval, Deadline(timeout, clock))
    else:
        report.finished = not report._unfinished  # noqa: SLF001 - the report's own flow
    return report


def wait_import_flow(
    report: ImportReport,
    *,
    poll_interval: float,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[ImportReport]:
    """Poll the jobs of ``report`` not yet finished; a ``timeout`` of 0 polls each once.

    Raises:
        InvalidInputError: Before any request, for a ``poll_interval`` that is not positive or
            a negative ``timeout``.
    """
    if poll_interval <= 0:
        raise InvalidInputError("poll_interval", f"must be positive seconds, got {poll_interval}")
    if timeout < 0:
        raise InvalidInputError("timeout", f"must not be negative, got {timeout}")
    yield from _poll(report, poll_interval, Deadline(timeout, clock))
    return report


def _submit_all(
    rows: Iterable[ProfileInput | Mapping[str, object]],
    list_id: str | None,
    report: ImportReport,
) -> Flow[None]:
    # Each row is encoded once, straight into the chunk's body (its size comes from that same
    # encoding): a 10,000-row chunk is then its body's bytes, not ten times them in objects.
    chunk = bytearray()
    chunk_index = array("q")  # caller row numbers, 8 bytes each: flat for millions of rows
    size = _ENVELOPE_BYTES
    for index, row in enumerate(rows):
        report.rows += 1
        try:
            attrs = coerce(ProfileInput, row, f"rows[{index}]").attributes()
        except InvalidInputError as exc:
            where = exc.field if exc.field.startswith("rows[") else f"rows[{index}]"
            report.add_error(RowError(index, where, exc.problem))
            continue
        item = json_bytes({"type": "profile", "attributes": attrs})
        item_size = len(item) + 1
        full = len(chunk_index) >= MAX_IMPORT_ROWS or size + item_size > MAX_PAYLOAD_BYTES
        if chunk_index and full:
            yield from _submit(chunk, chunk_index, list_id, report)
            chunk, chunk_index, size = bytearray(), array("q"), _ENVELOPE_BYTES
        if chunk_index:
            chunk += b","
        chunk += item
        chunk_index.append(index)
        size += item_size
    if chunk_index:
        yield from _submit(chunk, chunk_index, list_id, report)


def _submit(
    profiles: bytearray,
    indexes: array[int],
    list_id: str | None,
    report: ImportReport,
) -> Flow[None]:
    """Send one import job: ``profiles`` is its rows' JSON objects, comma-separated."""
    tail = b"]}}"
    if list_id is not None:
        lists = {"lists": {"data": [{"type": "list", "id": list_id}]}}
        tail += b',"relationships":' + json_bytes(lists)
    # The kit's own validated document, sent as is: through the SDK's request models one
    # 10,000-row chunk took ten times the memory of its JSON (tests: the SDK's model accepts it).
    profiles[:0] = b'{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":['
    profiles += tail + b"}}"
    result = yield Call("profiles", "bulk_import_profiles", document=bytes(profiles))
    del profiles[:]
    job = Document.parse(result).resource(ProfileImportJob)
    if not job.id:
        msg = "Klaviyo accepted a bulk import but returned no job id"
        raise InvalidInputError("bulk_import", msg)
    report.job_ids.append(job.id)
    report._unfinished[job.id] = indexes  # noqa: SLF001 - the report's own flow
    report.submitted += len(indexes)


def _poll(report: ImportReport, poll_interval: float, deadline: Deadline) -> Flow[None]:
    starts = report._unfinished  # noqa: SLF001 - the report's own flow
    pending = list(starts)
    while pending:
        still: list[str] = []
        for job_id in pending:
            # Sent through the operation table: polling loads none of the SDK's models.
            result = yield Call("profiles", "get_bulk_import_profiles_job", (job_id,), raw=True)
            job = Document.parse(result).resource(ProfileImportJob)
            if not job.done:
                still.append(job_id)
                continue
            report.completed += job.completed_count or 0
            indexes = starts.pop(job_id, array("q"))
            if job.failed_count:
                yield from _collect_errors(job_id, indexes, report)
        pending = still
        if pending:
            if deadline.spent >= deadline.seconds:
                return
            yield deadline.pause(poll_interval)
    report.finished = True


def _collect_errors(job_id: str, indexes: Sequence[int], report: ImportReport) -> Flow[None]:
    cursor: str | None = None
    while True:
        kwargs: dict[str, object] = {"page_cursor": cursor} if cursor else {}
        result = yield Call(
            "profiles", "get_errors_for_bulk_import_profiles_job", (job_id,), kwargs
        )
        doc = Document.parse(result)
        for item in doc.data if isinstance(doc.data, list) else []:
            attrs = item.get("attributes")
            attrs = attrs if isinstance(attrs, dict) else {}
            pointer = attrs.get("source")
            where = pointer.get("pointer") if isinstance(pointer, dict) else None
            report.add_error(
                RowError(
                    _row_of(where, indexes),
                    str(where) if where else None,
                    str(attrs.get("detail") or attrs.get("title") or "rejected by Klaviyo"),
                )
            )
        cursor = next_cursor(doc.next_url)
        if not cursor:
            return


def _row_of(pointer: object, indexes: Sequence[int]) -> int | None:
    """Map ``/data/attributes/profiles/data/3/...`` back to the caller's row index."""
    if not isinstance(pointer, str):
        return None
    parts = pointer.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "data" and parts[i + 1].isdigit() and "profiles" in parts[:i]:
            position = int(parts[i + 1])
            return indexes[position] if position < len(indexes) else None
    return None
