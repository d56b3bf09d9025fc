"""Sending a campaign: the send job, its polling with capped backoff, and its errors."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import InvalidInputError, JobError
from klaviyo_kit.sdk.types import CampaignSendJob, Document
from klaviyo_kit.services._flow import Call, Deadline, Flow

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CampaignSendError", "CampaignSendTimeoutError", "job_flow", "send_flow", "wait_flow"]

SENT: Final = "complete"
CANCELLED: Final = "cancelled"


class CampaignSendError(JobError):
    """A campaign's send job ended without sending (it was cancelled).

    Attributes:
        campaign_id: The campaign.
        status: The send job's last status.
    """

    def __init__(self, campaign_id: str, status: str | None, message: str) -> None:
        """Create the error for ``campaign_id`` whose send job last reported ``status``."""
        self.campaign_id = campaign_id
        self.status = status
        super().__init__(message)


class CampaignSendTimeoutError(CampaignSendError, TimeoutError):
    """A campaign was still sending when ``wait_until_sent`` gave up; also a ``TimeoutError``."""


def send_flow(campaign_id: str) -> Flow[CampaignSendJob]:
    """Create the campaign's send job (the job's id is the campaign's id)."""
    body = {"data": {"type": "campaign-send-job", "id": campaign_id}}
    result = yield Call("campaigns", "send_campaign", (body,))
    doc = Document.parse(result)
    if isinstance(doc.data, dict):
        return doc.resource(CampaignSendJob)
    return CampaignSendJob(id=campaign_id, status="queued")


def job_flow(campaign_id: str) -> Flow[CampaignSendJob]:
    """Read the campaign's send job."""
    result = yield Call("campaigns", "get_campaign_send_job", (campaign_id,))
    return Document.parse(result).resource(CampaignSendJob)


def wait_flow(
    campaign_id: str,
    timeout: float,
    first_delay: float,
    max_delay: float,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[CampaignSendJob]:
    """Poll the send job until it completes, doubling the pause up to ``max_delay``.

    The deadline counts the pauses or the wall time (``clock``), whichever is more: exact
    under an injected sleep, and still kept when the polls themselves are slow.

    Raises:
        InvalidInputError: For a negative timeout or non-positive delays.
        CampaignSendError: If the send was cancelled.
        CampaignSendTimeoutError: If it had not completed after ``timeout`` seconds.
    """
    if timeout < 0:
        raise InvalidInputError("timeout", f"must be zero or more seconds, got {timeout}")
    if first_delay <= 0 or max_delay < first_delay:
        raise InvalidInputError(
            "max_delay",
            f"delays must satisfy 0 < first_delay <= max_delay, got {first_delay}, {max_delay}",
        )
    deadline = Deadline(timeout, clock)
    delay = first_delay
    while True:
        job = yield from job_flow(campaign_id)
        if job.status == SENT:
            return job
        if job.status == CANCELLED:
            msg = f"campaign {campaign_id} was not sent: its send job was cancelled"
            raise CampaignSendError(campaign_id, job.status, msg)
        if deadline.spent >= timeout:
            msg = (
                f"campaign {campaign_id} was still {job.status or 'unknown'!r} "
                f"after {deadline.spent:g} s (timeout {timeout:g} s)"
            )
            raise CampaignSendTimeoutError(campaign_id, job.status, msg)
        yield deadline.pause(delay)
        delay = min(delay * 2, max_delay)
