"""Lists: create, get, find by name, iterate, membership, and marketing consent in bulk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sdk.types import Document, List
from klaviyo_kit.services._base import Page
from klaviyo_kit.services._bulk import BulkSubmission, chunked
from klaviyo_kit.services._cached import AsyncCachedService, CachedService
from klaviyo_kit.services._consent import EMAIL_ONLY, Channel, ConsentLogic, SubscriberLike
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._ids import require_id, unique_ids
from klaviyo_kit.services._validate import check_name
from klaviyo_kit.services.filters import equals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection, Iterable, Iterator

    from klaviyo_kit.infra import JSONValue
    from klaviyo_kit.sdk.types import JsonDict

__all__ = ["MEMBERSHIP_CHUNK", "AsyncLists", "Lists", "OptInProcess"]

MEMBERSHIP_CHUNK: Final = 1000
"""Klaviyo's limit of profiles per add-to-list / remove-from-list call."""
MAX_LIST_PAGE: Final = 10
"""Klaviyo's largest page of lists."""

OptInProcess = Literal["single_opt_in", "double_opt_in"]
"""How a list confirms new email subscribers."""


class _ListsLogic(ConsentLogic):
    """The lists service's logic, as flows shared by the sync and async services."""

    def _create_flow(self, name: str, opt_in_process: OptInProcess | None) -> Flow[List]:
        attrs: JsonDict = {"name": check_name(name, "name")}
        if opt_in_process is not None:
            if opt_in_process not in {"single_opt_in", "double_opt_in"}:
                raise InvalidInputError(
                    "opt_in_process",
                    f"must be single_opt_in or double_opt_in, not {opt_in_process!r}",
                )
            attrs["opt_in_process"] = opt_in_process
        body = {"data": {"type": "list", "attributes": attrs}}
        result = yield Call("lists", "create_list", (body,))
        return Document.parse(result).resource(List)

    def _get_flow(self, list_id: str) -> Flow[List]:
        result = yield Call("lists", "get_list", (require_id(list_id, "list_id"),))
        return Document.parse(result).resource(List)

    def _page_flow(
        self, filter_: str | None, page_size: int, cursor: str | None
    ) -> Flow[Page[List]]:
        if not 1 <= page_size <= MAX_LIST_PAGE:
            raise InvalidInputError("page_size", f"must be 1 to {MAX_LIST_PAGE}, got {page_size}")
        kwargs: dict[str, object] = {"page_size": page_size}
        if filter_:
            kwargs["filter"] = filter_
        if cursor:
            kwargs["page_cursor"] = cursor
        result = yield Call("lists", "get_lists", (), kwargs)
        doc = Document.parse(result)
        return Page(doc.resources(List), doc.next_cursor)

    def _find_flow(self, name: str) -> Flow[JSONValue | None]:
        page = yield from self._page_flow(equals("name", name), 1, None)
        return page.items[0].model_dump(mode="json") if page.items else None

    def _membership_flow(
        self, list_id: str, profile_ids: Iterable[str], *, add: bool
    ) -> Flow[BulkSubmission]:
        target = require_id(list_id, "list_id")
        ids = unique_ids(profile_ids, "profile_ids")
        method = "add_profiles_to_list" if add else "remove_profiles_from_list"
        requests = 0
        for chunk in chunked(ids, MEMBERSHIP_CHUNK):
            body = {"data": [{"type": "profile", "id": profile_id} for profile_id in chunk]}
            yield Call("lists", method, (target, body))
            requests += 1
        return BulkSubmission(len(ids), requests)


def _find_key(name: str) -> tuple[str, str]:
    clean = check_name(name, "name")
    return f"list-by-name:{clean}", clean


def _cached_list(value: JSONValue | None) -> List | None:
    return None if value is None else List.model_validate(value)


class Lists(_ListsLogic, CachedService):
    """``client.lists``: lists, their members, and marketing consent in bulk."""

    def create(self, name: str, *, opt_in_process: OptInProcess | None = None) -> List:
        """Create a list.

        Args:
            name: The list's name.
            opt_in_process: ``single_opt_in`` or ``double_opt_in`` (Klaviyo's default: single).

        Returns:
            The new list.

        Raises:
            InvalidInputError: Before any request, for an empty name or unknown opt-in process.
        """
        return self._run(self._create_flow(name, opt_in_process))

    def get(self, list_id: str) -> List:
        """Return the list with this id.

        Raises:
            klaviyo_kit.errors.NotFoundError: If there is none.
        """
        return self._run(self._get_flow(list_id))

    def find_by_name(self, name: str) -> List | None:
        """Return the list with exactly this name, or ``None``; cached for ``cache_ttl`` seconds.

        The name is quoted for Klaviyo's filter syntax, so quotes and backslashes match literally.
        """
        key, clean = _find_key(name)
        return _cached_list(self._cached(key, lambda: self._find_flow(clean)))

    def iter(self, *, filter: str | None = None, page_size: int = 10) -> Iterator[List]:  # noqa: A002
        """Yield every list matching ``filter`` (see ``services.filters``), 1-10 per page."""
        return self._iterate(lambda cursor: self._page_flow(filter, page_size, cursor))

    def add_profiles(self, list_id: str, profile_ids: Iterable[str]) -> BulkSubmission:
        """Add profiles (by Klaviyo id) to a list, 1,000 per request; duplicates are sent once.

        Adding does not change marketing consent; use :meth:`subscribe` for that.
        """
        return self._run(self._membership_flow(list_id, profile_ids, add=True))

    def remove_profiles(self, list_id: str, profile_ids: Iterable[str]) -> BulkSubmission:
        """Remove profiles (by Klaviyo id) from a list, 1,000 per request."""
        return self._run(self._membership_flow(list_id, profile_ids, add=False))

    def subscribe(
        self,
        profiles: Iterable[SubscriberLike],
        *,
        list_id: str | None = None,
        channels: Collection[Channel] = EMAIL_ONLY,
        historical_import: bool = False,
        custom_source: str | None = None,
    ) -> BulkSubmission:
        """Grant email and/or SMS marketing consent, 1,000 profiles per bulk job.

        Every profile is validated before the first request. Klaviyo runs the jobs
        asynchronously (202, no job id) and creates missing profiles.

        Args:
            profiles: :class:`Subscriber` values, mappings of their fields, or bare email
                addresses / ``+``-prefixed phone numbers.
            list_id: Also add the profiles to this list.
            channels: ``email``, ``sms`` or both; a profile gets consent on each channel it has
                an identifier for, and must have one for at least one of them.
            historical_import: Record consent collected in the past: every profile then needs
                ``consented_at`` (and it is refused otherwise); no confirmation is sent.
            custom_source: A source to store on the consent records.

        Returns:
            How many profiles were sent in how many requests.

        Raises:
            InvalidInputError: Before any request, naming the offending profile and field.
        """
        flow = self._subscribe_flow(profiles, list_id, channels, historical_import, custom_source)
        return self._run(flow)

    def unsubscribe(
        self,
        profiles: Iterable[SubscriberLike],
        *,
        list_id: str | None = None,
        channels: Collection[Channel] = EMAIL_ONLY,
    ) -> BulkSubmission:
        """Revoke email and/or SMS marketing consent, 100 profiles per bulk job.

        Warning:
            Without ``list_id`` Klaviyo unsubscribes the profiles **globally**, from all
            marketing on those channels. With ``list_id``, profiles that are *not* members of
            that list are also unsubscribed globally (Klaviyo's documented behaviour): check
            membership first, or use :meth:`remove_profiles` to leave consent unchanged.

        Args:
            profiles: As for :meth:`subscribe` (no ``consented_at``).
            list_id: The list to unsubscribe from.
            channels: ``email``, ``sms`` or both.

        Raises:
            InvalidInputError: Before any request, naming the offending profile and field.
        """
        return self._run(self._unsubscribe_flow(profiles, list_id, channels))

    def suppress(self, emails: Iterable[str]) -> BulkSubmission:
        """Suppress email addresses (no email marketing at all), 100 per bulk job.

        Returns:
            The submission, with the ids of the suppression jobs Klaviyo started.
        """
        return self._run(self._suppression_flow(emails, suppress=True))

    def unsuppress(self, emails: Iterable[str]) -> BulkSubmission:
        """Lift manual suppressions (``USER_SUPPRESSED`` only), 100 addresses per bulk job."""
        return self._run(self._suppression_flow(emails, suppress=False))


class AsyncLists(_ListsLogic, AsyncCachedService):
    """The async twin of :class:`Lists` (same methods, awaited)."""

    async def create(self, name: str, *, opt_in_process: OptInProcess | None = None) -> List:
        """Create a list; see :meth:`Lists.create`."""
        return await self._run(self._create_flow(name, opt_in_process))

    async def get(self, list_id: str) -> List:
        """Return the list with this id; see :meth:`Lists.get`."""
        return await self._run(self._get_flow(list_id))

    async def find_by_name(self, name: str) -> List | None:
        """Return the list with this name, or ``None``; see :meth:`Lists.find_by_name`."""
        key, clean = _find_key(name)
        return _cached_list(await self._cached(key, lambda: self._find_flow(clean)))

    def iter(self, *, filter: str | None = None, page_size: int = 10) -> AsyncIterator[List]:  # noqa: A002
        """Yield every matching list; see :meth:`Lists.iter`."""
        return self._iterate(lambda cursor: self._page_flow(filter, page_size, cursor))

    async def add_profiles(self, list_id: str, profile_ids: Iterable[str]) -> BulkSubmission:
        """Add profiles to a list; see :meth:`Lists.add_profiles`."""
        return await self._run(self._membership_flow(list_id, profile_ids, add=True))

    async def remove_profiles(self, list_id: str, profile_ids: Iterable[str]) -> BulkSubmission:
        """Remove profiles from a list; see :meth:`Lists.remove_profiles`."""
        return await self._run(self._membership_flow(list_id, profile_ids, add=False))

    async def subscribe(
        self,
        profiles: Iterable[SubscriberLike],
        *,
        list_id: str | None = None,
        channels: Collection[Channel] = EMAIL_ONLY,
        historical_import: bool = False,
        custom_source: str | None = None,
    ) -> BulkSubmission:
        """Grant marketing consent in bulk; see :meth:`Lists.subscribe`."""
        flow = self._subscribe_flow(profiles, list_id, channels, historical_import, custom_source)
        return await self._run(flow)

    async def unsubscribe(
        self,
        profiles: Iterable[SubscriberLike],
        *,
        list_id: str | None = None,
        channels: Collection[Channel] = EMAIL_ONLY,
    ) -> BulkSubmission:
        """Revoke consent in bulk (globally without ``list_id``); see :meth:`Lists.unsubscribe`."""
        return await self._run(self._unsubscribe_flow(profiles, list_id, channels))

    async def suppress(self, emails: Iterable[str]) -> BulkSubmission:
        """Suppress email addresses in bulk; see :meth:`Lists.suppress`."""
        return await self._run(self._suppression_flow(emails, suppress=True))

    async def unsuppress(self, emails: Iterable[str]) -> BulkSubmission:
        """Lift manual suppressions in bulk; see :meth:`Lists.unsuppress`."""
        return await self._run(self._suppression_flow(emails, suppress=False))
