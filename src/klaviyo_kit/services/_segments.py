"""Segments: iterate, get, iterate members, and a cached membership check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sdk.types import Document, Profile, Segment
from klaviyo_kit.services._base import Page
from klaviyo_kit.services._cached import AsyncCachedService, CachedService
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._ids import require_id
from klaviyo_kit.services._validate import check_email
from klaviyo_kit.services.filters import equals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from klaviyo_kit.infra import JSONValue

__all__ = ["AsyncSegments", "Segments"]

MAX_SEGMENT_PAGE: Final = 10
"""Klaviyo's largest page of segments."""
MAX_MEMBER_PAGE: Final = 100
"""Klaviyo's largest page of segment members."""


def _page_kwargs(
    filter_: str | None, page_size: int, cursor: str | None, largest: int
) -> dict[str, object]:
    if not 1 <= page_size <= largest:
        raise InvalidInputError("page_size", f"must be 1 to {largest}, got {page_size}")
    kwargs: dict[str, object] = {"page_size": page_size}
    if filter_:
        kwargs["filter"] = filter_
    if cursor:
        kwargs["page_cursor"] = cursor
    return kwargs


def _member_filter(email_or_id: object) -> str:
    """An address (it has an ``@``) matches on email, anything else on the profile id."""
    if isinstance(email_or_id, str) and "@" in email_or_id:
        return equals("email", check_email(email_or_id, "email_or_id"))
    return equals("profile_id", require_id(email_or_id, "email_or_id"))


class _SegmentsLogic:
    """The segments service's logic, as flows shared by the sync and async services."""

    def _get_flow(self, segment_id: str) -> Flow[Segment]:
        result = yield Call("segments", "get_segment", (require_id(segment_id, "segment_id"),))
        return Document.parse(result).resource(Segment)

    def _page_flow(
        self, filter_: str | None, page_size: int, cursor: str | None
    ) -> Flow[Page[Segment]]:
        kwargs = _page_kwargs(filter_, page_size, cursor, MAX_SEGMENT_PAGE)
        result = yield Call("segments", "get_segments", (), kwargs)
        doc = Document.parse(result)
        return Page(doc.resources(Segment), doc.next_cursor)

    def _members_flow(
        self, segment_id: str, filter_: str | None, page_size: int, cursor: str | None
    ) -> Flow[Page[Profile]]:
        target = require_id(segment_id, "segment_id")
        kwargs = _page_kwargs(filter_, page_size, cursor, MAX_MEMBER_PAGE)
        result = yield Call("segments", "get_profiles_for_segment", (target,), kwargs)
        doc = Document.parse(result)
        return Page(doc.resources(Profile), doc.next_cursor)

    def _is_member_flow(self, segment_id: str, member_filter: str) -> Flow[JSONValue | None]:
        kwargs = {"filter": member_filter, "page_size": 1}
        result = yield Call("segments", "get_profile_ids_for_segment", (segment_id,), kwargs)
        data = Document.parse(result).data
        return bool(data)


def _member_key(segment_id: str, email_or_id: str) -> tuple[str, str, str]:
    target = require_id(segment_id, "segment_id")
    member_filter = _member_filter(email_or_id)
    return f"segment-member:{target}:{member_filter}", target, member_filter


class Segments(_SegmentsLogic, CachedService):
    """``client.segments``: segments, their members, and membership checks."""

    def iter(self, *, filter: str | None = None, page_size: int = 10) -> Iterator[Segment]:  # noqa: A002
        """Yield every segment matching ``filter`` (e.g. ``equals("is_active", True)``)."""
        return self._iterate(lambda cursor: self._page_flow(filter, page_size, cursor))

    def get(self, segment_id: str) -> Segment:
        """Return the segment with this id.

        Raises:
            klaviyo_kit.errors.NotFoundError: If there is none.
        """
        return self._run(self._get_flow(segment_id))

    def iter_members(
        self,
        segment_id: str,
        *,
        filter: str | None = None,  # noqa: A002 - the name Klaviyo and the SDK use
        page_size: int = 100,
    ) -> Iterator[Profile]:
        """Yield the segment's member profiles, page by page (up to 100 per request)."""
        return self._iterate(
            lambda cursor: self._members_flow(segment_id, filter, page_size, cursor)
        )

    def is_member(self, segment_id: str, email_or_id: str) -> bool:
        """Return whether a profile (by email address or Klaviyo id) is in the segment.

        The answer, yes or no, is cached for ``cache_ttl`` seconds.

        Raises:
            InvalidInputError: Before any request, for an empty id or a malformed address.
        """
        key, target, member_filter = _member_key(segment_id, email_or_id)
        return bool(self._cached(key, lambda: self._is_member_flow(target, member_filter)))


class AsyncSegments(_SegmentsLogic, AsyncCachedService):
    """The async twin of :class:`Segments` (same methods, awaited)."""

    def iter(self, *, filter: str | None = None, page_size: int = 10) -> AsyncIterator[Segment]:  # noqa: A002
        """Yield every matching segment; see :meth:`Segments.iter`."""
        return self._iterate(lambda cursor: self._page_flow(filter, page_size, cursor))

    async def get(self, segment_id: str) -> Segment:
        """Return the segment with this id; see :meth:`Segments.get`."""
        return await self._run(self._get_flow(segment_id))

    def iter_members(
        self,
        segment_id: str,
        *,
        filter: str | None = None,  # noqa: A002 - the name Klaviyo and the SDK use
        page_size: int = 100,
    ) -> AsyncIterator[Profile]:
        """Yield the segment's members; see :meth:`Segments.iter_members`."""
        return self._iterate(
            lambda cursor: self._members_flow(segment_id, filter, page_size, cursor)
        )

    async def is_member(self, segment_id: str, email_or_id: str) -> bool:
        """Return whether a profile is in the segment (cached); see :meth:`Segments.is_member`."""
        key, target, member_filter = _member_key(segment_id, email_or_id)
        return bool(await self._cached(key, lambda: self._is_member_flow(target, member_filter)))
