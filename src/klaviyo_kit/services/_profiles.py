"""Profiles: upsert, look up, iterate, bulk import, and the seed's two-way sync helpers."""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import ConflictError, InvalidInputError
from klaviyo_kit.sdk.types import Document, Profile, ProfileImportJob, next_cursor
from klaviyo_kit.services._base import AsyncService, Page, SyncService
from klaviyo_kit.services._flow import Call, Flow, Sleep
from klaviyo_kit.services._inputs import ProfileInput, coerce
from klaviyo_kit.services._validate import MAX_PAYLOAD_BYTES, json_size
from klaviyo_kit.services.filters import equals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence

    from klaviyo_kit.sdk.types import JsonDict

__all__ = ["AsyncProfiles", "ImportReport", "Profiles", "RowError"]

_log = logging.getLogger("klaviyo_kit")
_IDENTIFIERS: Final = ("email", "phone_number", "external_id")
MAX_IMPORT_ROWS: Final = 10_000
_ENVELOPE_BYTES: Final = 512
_MAX_KEPT_ERRORS: Final = 10_000
SYNC_SOURCE: Final = "klaviyo-kit"


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

    def add_error(self, error: RowError) -> None:
        """Record a row error, keeping memory bounded."""
        self.failed += 1
        if len(self.errors) < _MAX_KEPT_ERRORS:
            self.errors.append(error)
        else:
            self.errors_dropped += 1


def _profile_body(attrs: JsonDict, profile_id: str | None = None) -> JsonDict:
    data: JsonDict = {"type": "profile", "attributes": attrs}
    if profile_id is not None:
        data["id"] = profile_id
    return {"data": data}


class _ProfilesLogic:
    """The profiles service's logic, as flows shared by the sync and async services."""

    def _upsert_flow(self, profile: ProfileInput | Mapping[str, object]) -> Flow[Profile]:
        attrs = coerce(ProfileInput, profile, "profile").attributes()
        try:
            result = yield Call("profiles", "create_or_update_profile", (_profile_body(attrs),))
        except ConflictError as exc:
            # The identifiers belong to two different profiles: update the one Klaviyo names.
            if not exc.duplicate_profile_id:
                raise
            result = yield from self._resolve_duplicate(exc.duplicate_profile_id, attrs)
        return Document.parse(result).resource(Profile)

    def _resolve_duplicate(self, profile_id: str, attrs: JsonDict) -> Flow[object]:
        try:
            return (
                yield Call(
                    "profiles", "update_profile", (profile_id, _profile_body(attrs, profile_id))
                )
            )
        except ConflictError:
            pass
        # Another identifier still belongs to a third profile: an update cannot move it without a
        # merge, so keep the duplicate's own identifiers, update everything else, and say so.
        current = yield Call("profiles", "get_profile", (profile_id,))
        existing = Document.parse(current).resource(Profile)
        moved = sorted(
            k for k in _IDENTIFIERS if k in attrs and attrs[k] != getattr(existing, k, None)
        )
        kept = {k: v for k, v in attrs.items() if k not in moved}
        _log.warning(
            "profile %s: %s belong(s) to another Klaviyo profile and was not moved; merge the "
            "profiles to combine them",
            profile_id,
            ", ".join(moved),
        )
        return (
            yield Call("profiles", "update_profile", (profile_id, _profile_body(kept, profile_id)))
        )

    def _get_flow(self, profile_id: str) -> Flow[Profile]:
        if not profile_id:
            raise InvalidInputError("profile_id", "must be a non-empty id")
        result = yield Call("profiles", "get_profile", (profile_id,))
        return Document.parse(result).resource(Profile)

    def _page_flow(
        self, filter_: str | None, sort: str | None, page_size: int, cursor: str | None
    ) -> Flow[Page[Profile]]:
        kwargs: dict[str, object] = {"page_size": page_size}
        if filter_:
            kwargs["filter"] = filter_
        if sort:
            kwargs["sort"] = sort
        if cursor:
            kwargs["page_cursor"] = cursor
        result = yield Call("profiles", "get_profiles", (), kwargs)
        doc = Document.parse(result)
        return Page(doc.resources(Profile), doc.next_cursor)

    def _find_flow(self, email: str) -> Flow[Profile | None]:
        address = coerce(ProfileInput, {"email": email}, "email").email or ""
        page = yield from self._page_flow(equals("email", address), None, 1, None)
        return page.items[0] if page.items else None

    def _bulk_import_flow(  # noqa: C901 - one pass: validate, chunk, submit, poll
        self,
        rows: Iterable[ProfileInput | Mapping[str, object]],
        list_id: str | None,
        wait: bool,  # noqa: FBT001
        poll_interval: float,
        timeout: float,
    ) -> Flow[ImportReport]:
        report = ImportReport()
        chunk: list[JsonDict] = []
        chunk_index = array("q")  # caller row numbers, 8 bytes each: flat for millions of rows
        size = _ENVELOPE_BYTES
        starts: dict[str, array[int]] = {}
        for index, row in enumerate(rows):
            report.rows += 1
            try:
                attrs = coerce(ProfileInput, row, f"rows[{index}]").attributes()
            except InvalidInputError as exc:
                where = exc.field if exc.field.startswith("rows[") else f"rows[{index}]"
                report.add_error(RowError(index, where, exc.problem))
                continue
            item: JsonDict = {"type": "profile", "attributes": attrs}
            item_size = json_size(item) + 1
            if chunk and (len(chunk) >= MAX_IMPORT_ROWS or size + item_size > MAX_PAYLOAD_BYTES):
                job_id = yield from self._submit(chunk, list_id)
                report.job_ids.append(job_id)
                starts[job_id] = chunk_index
                report.submitted += len(chunk)
                chunk, chunk_index, size = [], array("q"), _ENVELOPE_BYTES
            chunk.append(item)
            chunk_index.append(index)
            size += item_size
        if chunk:
            job_id = yield from self._submit(chunk, list_id)
            report.job_ids.append(job_id)
            starts[job_id] = chunk_index
            report.submitted += len(chunk)
        del chunk
        if not wait:
            return report
        waited = 0.0
        pending = list(report.job_ids)
        while pending:
            still: list[str] = []
            for job_id in pending:
                result = yield Call("profiles", "get_bulk_import_profiles_job", (job_id,))
                job = Document.parse(result).resource(ProfileImportJob)
                if not job.done:
                    still.append(job_id)
                    continue
                report.completed += job.completed_count or 0
                if job.failed_count:
                    yield from self._collect_errors(job_id, starts.pop(job_id, array("q")), report)
                starts.pop(job_id, None)
            pending = still
            if pending:
                if waited >= timeout:
                    return report
                yield Sleep(poll_interval)
                waited += poll_interval
        report.finished = True
        return report

    def _submit(self, chunk: list[JsonDict], list_id: str | None) -> Flow[str]:
        data: JsonDict = {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": list(chunk)}},
        }
        if list_id:
            data["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
        result = yield Call("profiles", "bulk_import_profiles", ({"data": data},))
        job = Document.parse(result).resource(ProfileImportJob)
        if not job.id:
            msg = "Klaviyo accepted a bulk import but returned no job id"
            raise InvalidInputError("bulk_import", msg)
        return job.id

    def _collect_errors(
        self, job_id: str, indexes: Sequence[int], report: ImportReport
    ) -> Flow[None]:
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


def _sync_input(user: ProfileInput | Mapping[str, object], source: str, now: datetime) -> JsonDict:
    profile = coerce(ProfileInput, user, "user")
    properties = dict(profile.properties)
    properties.update({"lastSyncedAt": now.isoformat(), "syncSource": source})
    return profile.model_copy(update={"properties": properties}).model_dump(exclude_none=True)


class Profiles(_ProfilesLogic, SyncService):
    """``client.profiles``: create-or-update, look up, iterate and bulk import profiles."""

    def upsert(self, profile: ProfileInput | Mapping[str, object]) -> Profile:
        """Create or update a profile identified by email, phone number or external id.

        A ``duplicate_profile`` conflict (the identifiers belong to two profiles) becomes an
        update of the profile Klaviyo names.

        Args:
            profile: A :class:`ProfileInput` or a mapping of its fields.

        Returns:
            The profile as Klaviyo stored it.

        Raises:
            InvalidInputError: Before any request, for a bad email, phone number or size.
            klaviyo_kit.errors.APIError: If Klaviyo refuses the profile.
        """
        return self._run(self._upsert_flow(profile))

    def get(self, profile_id: str) -> Profile:
        """Return the profile with this Klaviyo id.

        Raises:
            klaviyo_kit.errors.NotFoundError: If there is none.
        """
        return self._run(self._get_flow(profile_id))

    def find_by_email(self, email: str) -> Profile | None:
        """Return the profile with this email address, or ``None``.

        The address is quoted for Klaviyo's filter syntax, so quotes, backslashes and unicode
        are matched literally.
        """
        return self._run(self._find_flow(email))

    def iter(
        self,
        *,
        filter: str | None = None,  # noqa: A002 - the name Klaviyo and the SDK use
        sort: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Profile]:
        """Yield every profile matching ``filter`` (see ``services.filters``), page by page."""
        return self._iterate(lambda cursor: self._page_flow(filter, sort, page_size, cursor))

    def bulk_import(
        self,
        rows: Iterable[ProfileInput | Mapping[str, object]],
        *,
        list_id: str | None = None,
        wait: bool = True,
        poll_interval: float = 2.0,
        timeout: float = 3600.0,
    ) -> ImportReport:
        """Import any number of profiles, streamed in chunks Klaviyo accepts.

        Rows are validated one by one; invalid rows are reported, never sent. Valid rows go in
        bulk import jobs of at most 10,000 profiles and 5 MB each, so memory stays flat however
        long ``rows`` is. With ``wait`` the jobs are polled until they finish and Klaviyo's
        per-row errors are collected.

        Args:
            rows: Profiles as :class:`ProfileInput` or mappings; any iterable, e.g. a generator.
            list_id: Also add the imported profiles to this list.
            wait: Poll the jobs until they finish.
            poll_interval: Seconds between polls.
            timeout: Stop polling after this many seconds (the report says ``finished=False``).

        Returns:
            The :class:`ImportReport`.
        """
        return self._run(self._bulk_import_flow(rows, list_id, wait, poll_interval, timeout))

    def sync_to_klaviyo(
        self, user: ProfileInput | Mapping[str, object], *, source: str = SYNC_SOURCE
    ) -> Profile:
        """Upsert an application user, stamping ``lastSyncedAt`` and ``syncSource`` properties."""
        return self.upsert(_sync_input(user, source, datetime.now(timezone.utc)))

    def sync_from_klaviyo(self, email: str) -> Profile | None:
        """Fetch the Klaviyo profile for an application user by email (``None`` if absent)."""
        return self.find_by_email(email)


class AsyncProfiles(_ProfilesLogic, AsyncService):
    """The async twin of :class:`Profiles` (same methods, awaited)."""

    async def upsert(self, profile: ProfileInput | Mapping[str, object]) -> Profile:
        """Create or update a profile; see :meth:`Profiles.upsert`."""
        return await self._run(self._upsert_flow(profile))

    async def get(self, profile_id: str) -> Profile:
        """Return the profile with this id; see :meth:`Profiles.get`."""
        return await self._run(self._get_flow(profile_id))

    async def find_by_email(self, email: str) -> Profile | None:
        """Return the profile with this email, or ``None``; see :meth:`Profiles.find_by_email`."""
        return await self._run(self._find_flow(email))

    def iter(
        self,
        *,
        filter: str | None = None,  # noqa: A002 - the name Klaviyo and the SDK use
        sort: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Profile]:
        """Yield every matching profile; see :meth:`Profiles.iter`."""
        return self._iterate(lambda cursor: self._page_flow(filter, sort, page_size, cursor))

    async def bulk_import(
        self,
        rows: Iterable[ProfileInput | Mapping[str, object]],
        *,
        list_id: str | None = None,
        wait: bool = True,
        poll_interval: float = 2.0,
        timeout: float = 3600.0,
    ) -> ImportReport:
        """Import profiles in chunks; see :meth:`Profiles.bulk_import`."""
        return await self._run(self._bulk_import_flow(rows, list_id, wait, poll_interval, timeout))

    async def sync_to_klaviyo(
        self, user: ProfileInput | Mapping[str, object], *, source: str = SYNC_SOURCE
    ) -> Profile:
        """Upsert an application user with sync stamps; see :meth:`Profiles.sync_to_klaviyo`."""
        return await self.upsert(_sync_input(user, source, datetime.now(timezone.utc)))

    async def sync_from_klaviyo(self, email: str) -> Profile | None:
        """Fetch a user's Klaviyo profile by email; see :meth:`Profiles.sync_from_klaviyo`."""
        return await self.find_by_email(email)
