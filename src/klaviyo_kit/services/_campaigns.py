"""Campaigns: create an email campaign, set its content or template, send, wait, cancel, read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sdk.types import Campaign, CampaignSendJob, Document, Resource
from klaviyo_kit.services._base import AsyncService, Page, SyncService
from klaviyo_kit.services._campaign_inputs import EmailContent, campaign_body, content_details
from klaviyo_kit.services._campaign_send import job_flow, send_flow, wait_flow
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._ids import require_id

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator, Mapping

__all__ = ["AsyncCampaigns", "Campaigns"]

MAX_CAMPAIGN_PAGE: Final = 100


class _CampaignsLogic:
    """The campaigns service's logic, as flows shared by the sync and async services."""

    def _create_flow(
        self,
        name: str,
        audiences: Iterable[str],
        excluded: Iterable[str],
        content: EmailContent | Mapping[str, object] | None,
    ) -> Flow[Campaign]:
        body = campaign_body(name, audiences, excluded, content)
        result = yield Call("campaigns", "create_campaign", (body,))
        return Document.parse(result).resource(Campaign)

    def _get_flow(self, campaign_id: str) -> Flow[Campaign]:
        result = yield Call("campaigns", "get_campaign", (require_id(campaign_id, "campaign_id"),))
        return Document.parse(result).resource(Campaign)

    def _page_flow(
        self, filter_: str | None, page_size: int, cursor: str | None
    ) -> Flow[Page[Campaign]]:
        if not 1 <= page_size <= MAX_CAMPAIGN_PAGE:
            raise InvalidInputError("page_size", f"must be 1 to 100, got {page_size}")
        # Revision 2026-10-15 lists campaigns of every channel; the filter is optional and no
        # longer knows messages.channel (earlier revisions required it).
        kwargs: dict[str, object] = {"page_size": page_size}
        if filter_:
            kwargs["filter"] = filter_
        if cursor:
            kwargs["page_cursor"] = cursor
        result = yield Call("campaigns", "get_campaigns", (), kwargs)
        doc = Document.parse(result)
        return Page(doc.resources(Campaign), doc.next_cursor)

    def _message_flow(self, campaign_id: str) -> Flow[Resource]:
        result = yield Call("campaigns", "get_messages_for_campaign", (campaign_id,))
        messages = Document.parse(result).resources(Resource)
        if not messages or not messages[0].id:
            raise InvalidInputError("campaign_id", f"campaign {campaign_id} has no message")
        return messages[0]

    def _content_flow(
        self, campaign_id: str, content: EmailContent | Mapping[str, object]
    ) -> Flow[str]:
        target = require_id(campaign_id, "campaign_id")
        details = content_details(content)
        message = yield from self._message_flow(target)
        variations = message.relationships.get("campaign-variations")
        if isinstance(variations, list) and variations:
            body = {
                "data": {
                    "type": "campaign-variation",
                    "id": variations[0],
                    "attributes": {"definition": {"details": details}},
                }
            }
            yield Call("campaigns", "update_campaign_variation", (variations[0], body))
            return variations[0]
        body = {
            "data": {
                "type": "campaign-variation",
                "attributes": {"definition": {"name": "default", "details": details}},
                "relationships": {
                    "campaign-message": {"data": {"type": "campaign-message", "id": message.id}}
                },
            }
        }
        result = yield Call("campaigns", "create_campaign_variation", (body,))
        return Document.parse(result).resource(Resource).id or ""

    def _template_flow(self, campaign_id: str, template_id: str) -> Flow[str]:
        target = require_id(campaign_id, "campaign_id")
        template = require_id(template_id, "template_id")
        message = yield from self._message_flow(target)
        message_id = message.id or ""
        body = {
            "data": {
                "type": "campaign-message",
                "id": message_id,
                "relationships": {"template": {"data": {"type": "template", "id": template}}},
            }
        }
        yield Call("campaigns", "assign_template_to_campaign_message", (body,))
        return message_id

    def _send_flow(self, campaign_id: str) -> Flow[CampaignSendJob]:
        return (yield from send_flow(require_id(campaign_id, "campaign_id")))

    def _status_flow(self, campaign_id: str) -> Flow[CampaignSendJob]:
        return (yield from job_flow(require_id(campaign_id, "campaign_id")))

    def _wait_flow(
        self, campaign_id: str, timeout: float, first_delay: float, max_delay: float
    ) -> Flow[CampaignSendJob]:
        target = require_id(campaign_id, "campaign_id")
        return (yield from wait_flow(target, timeout, first_delay, max_delay))

    def _cancel_flow(self, campaign_id: str) -> Flow[None]:
        target = require_id(campaign_id, "campaign_id")
        body = {
            "data": {"type": "campaign-send-job", "id": target, "attributes": {"action": "cancel"}}
        }
        yield Call("campaigns", "cancel_campaign_send", (target, body))


class Campaigns(_CampaignsLogic, SyncService):
    """``client.campaigns``: email campaigns from creation to a confirmed send."""

    def create(
        self,
        name: str,
        *,
        audiences: Iterable[str],
        excluded: Iterable[str] = (),
        content: EmailContent | Mapping[str, object] | None = None,
    ) -> Campaign:
        """Create a draft email campaign with one message.

        Args:
            name: The campaign's (and its message's) name.
            audiences: List and segment ids to send to.
            excluded: List and segment ids to leave out.
            content: The message's subject, sender and preview (also settable later).

        Returns:
            The new campaign; its message ids are in ``relationships["campaign-messages"]``.

        Raises:
            InvalidInputError: Before any request, for an empty name, no audience, an id both
                included and excluded, or malformed content.
        """
        return self._run(self._create_flow(name, audiences, excluded, content))

    def get(self, campaign_id: str) -> Campaign:
        """Return the campaign with this id.

        Raises:
            klaviyo_kit.errors.NotFoundError: If there is none.
        """
        return self._run(self._get_flow(campaign_id))

    def iter(
        self,
        *,
        filter: str | None = None,  # noqa: A002 - the name Klaviyo and the SDK use
        page_size: int = 100,
    ) -> Iterator[Campaign]:
        """Yield every campaign matching ``filter``, up to 100 per request.

        At revision 2026-10-15 ``filter`` knows ``id`` (any), ``name`` (contains), ``archived``,
        ``builder``, ``created_at`` and ``updated_at``.
        """
        return self._iterate(lambda cursor: self._page_flow(filter, page_size, cursor))

    def set_content(self, campaign_id: str, content: EmailContent | Mapping[str, object]) -> str:
        """Set the subject, sender and preview of the campaign's (first) message.

        Returns:
            The id of the message variation that holds the content.

        Raises:
            InvalidInputError: Before any request for malformed content; after reading the
                campaign, if it has no message.
        """
        return self._run(self._content_flow(campaign_id, content))

    def assign_template(self, campaign_id: str, template_id: str) -> str:
        """Give the campaign's (first) message a copy of a template as its body.

        Returns:
            The id of the message the template was assigned to.
        """
        return self._run(self._template_flow(campaign_id, template_id))

    def send(self, campaign_id: str) -> CampaignSendJob:
        """Start sending the campaign now (creates its send job); see :meth:`wait_until_sent`."""
        return self._run(self._send_flow(campaign_id))

    def send_status(self, campaign_id: str) -> CampaignSendJob:
        """Return the send job: ``queued``, ``processing``, ``complete`` or ``cancelled``."""
        return self._run(self._status_flow(campaign_id))

    def wait_until_sent(
        self,
        campaign_id: str,
        *,
        timeout: float = 600.0,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> CampaignSendJob:
        """Poll the send job until it is ``complete``.

        Pauses start at ``first_delay`` and double up to ``max_delay``; the deadline counts the
        pauses, so a final poll happens right at ``timeout``.

        Returns:
            The completed send job.

        Raises:
            CampaignSendError: If the send was cancelled (names the campaign and the status).
            CampaignSendTimeoutError: If it had not completed in ``timeout`` seconds.
        """
        return self._run(self._wait_flow(campaign_id, timeout, first_delay, max_delay))

    def cancel(self, campaign_id: str) -> None:
        """Cancel a campaign that is sending or scheduled (its status becomes cancelled)."""
        self._run(self._cancel_flow(campaign_id))


class AsyncCampaigns(_CampaignsLogic, AsyncService):
    """The async twin of :class:`Campaigns` (same methods, awaited)."""

    async def create(
        self,
        name: str,
        *,
        audiences: Iterable[str],
        excluded: Iterable[str] = (),
        content: EmailContent | Mapping[str, object] | None = None,
    ) -> Campaign:
        """Create a draft email campaign; see :meth:`Campaigns.create`."""
        return await self._run(self._create_flow(name, audiences, excluded, content))

    async def get(self, campaign_id: str) -> Campaign:
        """Return the campaign with this id; see :meth:`Campaigns.get`."""
        return await self._run(self._get_flow(campaign_id))

    def iter(
        self,
        *,
        filter: str | None = None,  # noqa: A002 - the name Klaviyo and the SDK use
        page_size: int = 100,
    ) -> AsyncIterator[Campaign]:
        """Yield every matching campaign; see :meth:`Campaigns.iter`."""
        return self._iterate(lambda cursor: self._page_flow(filter, page_size, cursor))

    async def set_content(
        self, campaign_id: str, content: EmailContent | Mapping[str, object]
    ) -> str:
        """Set the message content; see :meth:`Campaigns.set_content`."""
        return await self._run(self._content_flow(campaign_id, content))

    async def assign_template(self, campaign_id: str, template_id: str) -> str:
        """Assign a template; see :meth:`Campaigns.assign_template`."""
        return await self._run(self._template_flow(campaign_id, template_id))

    async def send(self, campaign_id: str) -> CampaignSendJob:
        """Start sending the campaign; see :meth:`Campaigns.send`."""
        return await self._run(self._send_flow(campaign_id))

    async def send_status(self, campaign_id: str) -> CampaignSendJob:
        """Return the campaign's send job; see :meth:`Campaigns.send_status`."""
        return await self._run(self._status_flow(campaign_id))

    async def wait_until_sent(
        self,
        campaign_id: str,
        *,
        timeout: float = 600.0,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> CampaignSendJob:
        """Poll until the campaign is sent; see :meth:`Campaigns.wait_until_sent`."""
        return await self._run(self._wait_flow(campaign_id, timeout, first_delay, max_delay))

    async def cancel(self, campaign_id: str) -> None:
        """Cancel the campaign's send; see :meth:`Campaigns.cancel`."""
        await self._run(self._cancel_flow(campaign_id))
