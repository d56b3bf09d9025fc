"""Profiles: upsert, look up, iterate, bulk import, and the seed's two-way sync helpers."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import ConflictError, InvalidInputError
from klaviyo_kit.sdk.types import Document, Profile
from klaviyo_kit.services._base import AsyncService, Page, SyncService
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._ids import require_id
from klaviyo_kit.services._inputs import ProfileInput, coerce
from klaviyo_kit.services._profile_import import ImportReport, bulk_import_flow, wait_import_flow
from klaviyo_kit.services.filters import equals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator, Mapping

    from klaviyo_kit.sdk.types import JsonDict

__all__ = ["MAX_PROFILE_PAGE", "AsyncProfiles", "Profiles"]

_log = logging.getLogger("klaviyo_kit")
_IDENTIFIERS: Final = ("email", "phone_number", "external_id")
MAX_PROFILE_PAGE: Final = 100
"""Klaviyo's largest page of profiles."""
SYNC_SOURCE: Final = "klaviyo-kit"


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
        result = yield Call("profiles", "get_profile", (require_id(profile_id, "profile_id"),))
        return Document.parse(result).resource(Profile)

    def _page_flow(
        self, filter_: str | None, sort: str | None, page_size: int, cursor: str | None
    ) -> Flow[Page[Profile]]:
        if not 1 <= page_size <= MAX_PROFILE_PAGE:
            msg = f"must be 1 to {MAX_PROFILE_PAGE}, got {page_size}"
            raise InvalidInputError("page_size", msg)
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
        return self._run(
            bulk_import_flow(rows, list_id, wait=wait, poll_interval=poll_interval, timeout=timeout)
        )

    def wait_import(
        self, report: ImportReport, *, poll_interval: float = 2.0, timeout: float = 3600.0
    ) -> ImportReport:
        """Poll the unfinished jobs of a ``bulk_import(..., wait=False)`` until they finish.

        Submitting several imports before waiting on any lets Klaviyo process them side by
        side. The same ``report`` is filled in (completed and failed rows, Klaviyo's per-row
        errors, ``finished``) and returned; calling it again polls only what is left.

        Args:
            report: The report :meth:`bulk_import` returned.
            poll_interval: Seconds between polls.
            timeout: Stop polling after this many seconds; ``0`` polls each unfinished job
                once and returns.

        Returns:
            ``report``, with ``finished=True`` once every job reached a final status.

        Example:
            ```python
            first = client.profiles.bulk_import(batch_one, wait=False)
            second = client.profiles.bulk_import(batch_two, wait=False)
            for report in (first, second):
                client.profiles.wait_import(report)
            ```
        """
        return self._run(wait_import_flow(report, poll_interval=poll_interval, timeout=timeout))

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
        return await self._run(
            bulk_import_flow(rows, list_id, wait=wait, poll_interval=poll_interval, timeout=timeout)
        )

    async def wait_import(
        self, report: ImportReport, *, poll_interval: float = 2.0, timeout: float = 3600.0
    ) -> ImportReport:
        """Poll a report's unfinished import jobs; see :meth:`Profiles.wait_import`."""
        return await self._run(
            wait_import_flow(report, poll_interval=poll_interval, timeout=timeout)
        )

    async def sync_to_klaviyo(
        self, user: ProfileInput | Mapping[str, object], *, source: str = SYNC_SOURCE
    ) -> Profile:
        """Upsert an application user with sync stamps; see :meth:`Profiles.sync_to_klaviyo`."""
        return await self.upsert(_sync_input(user, source, datetime.now(timezone.utc)))

    async def sync_from_klaviyo(self, email: str) -> Profile | None:
        """Fetch a user's Klaviyo profile by email; see :meth:`Profiles.sync_from_klaviyo`."""
        return await self.find_by_email(email)
