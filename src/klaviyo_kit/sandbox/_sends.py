"""Campaign send jobs: queued → processing → complete (one step per poll), cancel, deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _segments
from klaviyo_kit.sandbox._events import record_event
from klaviyo_kit.sandbox._jsonapi import Reply, SandboxAPIError, invalid, links_self, not_found
from klaviyo_kit.sandbox._state import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call, World

NEXT_STATUS = {"queued": "processing", "processing": "complete"}
_CHANNEL_METRIC = {"email": "Received Email", "sms": "Sent SMS", "push": "Received Push"}


def _group_members(world: World, group_id: str) -> dict[str, float]:
    account = world.account
    if group_id in account.lists:
        return account.list_members.get(group_id, {})
    segment = account.segments.get(group_id)
    return _segments.members_of(account, segment) if segment is not None else {}


def recipients(world: World, audience: Record) -> list[str]:
    """Return the profiles an audience reaches: included, not excluded, not opted out."""
    definition = audience.attributes["definition"]
    chosen: dict[str, None] = {}
    for group in definition.get("included") or []:
        chosen.update(dict.fromkeys(_group_members(world, group)))
    for group in definition.get("excluded") or []:
        for profile_id in _group_members(world, group):
            chosen.pop(profile_id, None)
    reachable = []
    for profile_id in chosen:
        profile = world.account.profiles.get(profile_id)
        consent = profile.extra.get("subscriptions", {}) if profile is not None else {}
        if (
            profile is not None
            and not profile.extra.get("suppressed")
            and (consent.get("email") != "UNSUBSCRIBED")
        ):
            reachable.append(profile_id)
    return reachable


def _deliver(world: World, campaign: Record) -> int:
    sent = 0
    name = campaign.attributes["definition"].get("name")
    for message_id in campaign.extra["messages"]:
        message = world.account.messages[message_id]
        message.extra["sent"] = True
        audience = world.account.audiences[message.extra["audience"]]
        metric = _CHANNEL_METRIC.get(message.extra["channel"], "Received Email")
        subject = message.extra["content"].get("subject")
        for profile_id in recipients(world, audience):
            properties = {
                "Campaign Name": name,
                "$message": message_id,
                "Subject": subject,
            }
            record_event(
                world,
                world.account.profiles[profile_id],
                metric,
                properties,
                unique_id=f"{message_id}:{profile_id}",
                integration="klaviyo",
            )
            sent += 1
    return sent


def advance(world: World, job: Record) -> None:
    """Move a send job one step; on ``complete`` every recipient receives the campaign."""
    status = job.attributes["status"]
    if status not in NEXT_STATUS:
        return
    job.attributes["status"] = NEXT_STATUS[status]
    job.updated = world.clock()
    if job.attributes["status"] == "complete":
        job.extra["recipients"] = _deliver(world, world.account.campaigns[job.id])


def render(call: Call, job: Record) -> dict[str, Any]:
    """Return a campaign send job resource object."""
    return {
        "type": "campaign-send-job",
        "id": job.id,
        "attributes": {"status": job.attributes["status"]},
        "links": links_self(call.base, f"/api/campaign-send-jobs/{job.id}"),
    }


def send_campaign(call: Call) -> Reply:
    """POST /api/campaign-send-jobs: 202 with a queued job whose id is the campaign's."""
    data = call.data("campaign-send-job")
    campaign = call.account.campaigns.get(str(data.get("id")))
    if campaign is None:
        raise not_found("campaign", str(data.get("id")))
    if campaign.id in call.account.send_jobs:
        raise invalid("This campaign has already been sent.", pointer="/data/id")
    if not campaign.extra["messages"]:
        raise invalid("The campaign has no messages.", pointer="/data/id")
    for message_id in campaign.extra["messages"]:
        if call.account.messages[message_id].extra["template"] is None:
            raise invalid(f"Campaign message {message_id} has no template.", pointer="/data/id")
    job = Record(campaign.id, {"status": "queued"}, call.now, call.now)
    call.account.send_jobs[job.id] = job
    return Reply(202, {"data": render(call, job), "links": links_self(call.base, call.path)})


def get_campaign_send_job(call: Call) -> Reply:
    """GET /api/campaign-send-jobs/{id}: each poll moves the job one step on."""
    job = call.account.send_jobs.get(call.params["id"])
    if job is None:
        raise not_found("campaign send job", call.params["id"])
    advance(call.world, job)
    return Reply(200, {"data": render(call, job), "links": links_self(call.base, call.path)})


def cancel_campaign_send(call: Call) -> Reply:
    """PATCH /api/campaign-send-jobs/{id} with ``action`` ``cancel`` (or ``revert``): 204."""
    job = call.account.send_jobs.get(call.params["id"])
    if job is None:
        raise not_found("campaign send job", call.params["id"])
    action = call.attributes("campaign-send-job").get("action")
    if action not in {"cancel", "revert"}:
        raise invalid("'action' must be 'cancel' or 'revert'.", pointer="/data/attributes/action")
    if job.attributes["status"] not in NEXT_STATUS:
        raise SandboxAPIError(
            400,
            "invalid",
            "Invalid input.",
            f"A send job that is {job.attributes['status']} cannot be cancelled.",
            pointer="/data/attributes/action",
        )
    if action == "revert":
        del call.account.send_jobs[job.id]
    else:
        job.attributes["status"] = "cancelled"
    return Reply(204)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "send_campaign": send_campaign,
    "get_campaign_send_job": get_campaign_send_job,
    "cancel_campaign_send": cancel_campaign_send,
}
