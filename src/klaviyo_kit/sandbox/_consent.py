"""Consent: bulk subscribe/unsubscribe (immediate) and suppression jobs (advance per poll)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _profiles, _segments
from klaviyo_kit.sandbox._context import as_object, dig
from klaviyo_kit.sandbox._events import record_event
from klaviyo_kit.sandbox._filters import select
from klaviyo_kit.sandbox._jsonapi import Reply, collection, invalid, links_self, not_found
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call, World

_BASE = "/data/attributes/profiles/data"
_CHANNELS = {"email": "Email", "sms": "SMS"}
MAX_SUBSCRIBE = 1000
MAX_UNSUBSCRIBE = 100
MAX_SUPPRESS = 100
_JOB_FILTERS = {  # as the SDK documents get_bulk_suppress_profiles_jobs' filter
    "status": frozenset({"equals"}),
    "list_id": frozenset({"equals"}),
    "segment_id": frozenset({"equals"}),
}


def _entries(call: Call, kind: str, limit: int) -> tuple[list[Any], dict[str, Any]]:
    data = call.data(kind)
    entries = dig(data, "/data", "attributes", "profiles", "data")
    if entries is None:
        entries = []
    if not isinstance(entries, list) or len(entries) > limit:
        raise invalid(f"Between 1 and {limit} profiles are allowed per call.", pointer=_BASE)
    return entries, as_object(data.get("relationships"), "/data/relationships")


def _related_id(relationships: Mapping[str, Any], name: str) -> str | None:
    value = dig(relationships, "/data/relationships", name, "data", "id")
    return str(value) if value is not None else None


def set_consent(world: World, profile: Record, channel: str, consent: str) -> None:
    """Record a consent change and emit its Klaviyo system event."""
    profile.extra.setdefault("subscriptions", {})[channel] = consent
    profile.updated = world.clock()
    verb = "Subscribed to" if consent == "SUBSCRIBED" else "Unsubscribed from"
    record_event(
        world, profile, f"{verb} {_CHANNELS[channel]} Marketing", {}, integration="klaviyo"
    )


def _change(call: Call, kind: str, limit: int, consent: str) -> Reply:
    entries, relationships = _entries(call, kind, limit)
    list_id = _related_id(relationships, "list")
    if list_id is not None and list_id not in call.account.lists:
        raise invalid(f"List {list_id} does not exist.", pointer="/data/relationships/list")
    changes = []
    for index, entry in enumerate(entries):
        pointer = f"{_BASE}/{index}/attributes"
        attrs = as_object(dig(entry, f"{_BASE}/{index}", "attributes"), pointer)
        channels = attrs.get("subscriptions")
        if not isinstance(channels, dict) or not channels:
            raise invalid(
                "'subscriptions' is a required field.", pointer=f"{pointer}/subscriptions"
            )
        identity = _profiles.clean(
            {k: attrs[k] for k in ("email", "phone_number") if attrs.get(k)}, pointer
        )
        if not identity:
            raise invalid("An 'email' or 'phone_number' is required.", pointer=pointer)
        changes.append((identity, [c for c in channels if c in _CHANNELS]))
    for identity, channels in changes:
        profile, _ = _profiles.upsert(call.world, identity)
        for channel in channels:
            set_consent(call.world, profile, channel, consent)
        if list_id is not None and consent == "SUBSCRIBED":
            call.account.list_members[list_id].setdefault(profile.id, call.now)
        elif list_id is not None:
            call.account.list_members[list_id].pop(profile.id, None)
    return Reply(202)


def bulk_subscribe_profiles(call: Call) -> Reply:
    """POST /api/profile-subscription-bulk-create-jobs: 202 with no body."""
    return _change(call, "profile-subscription-bulk-create-job", MAX_SUBSCRIBE, "SUBSCRIBED")


def bulk_unsubscribe_profiles(call: Call) -> Reply:
    """POST /api/profile-subscription-bulk-delete-jobs: 202 with no body."""
    return _change(call, "profile-subscription-bulk-delete-job", MAX_UNSUBSCRIBE, "UNSUBSCRIBED")


def advance(world: World, job: Record) -> None:
    """Move a suppression job one step; profiles change when it completes."""
    status = job.attributes["status"]
    if status == "queued":
        job.attributes["status"] = "processing"
        return
    if status != "processing":
        return
    suppress = job.extra["suppress"]
    done = 0
    for email in job.extra["emails"]:
        profile = world.account.find_profile("email", email)
        if profile is None and suppress:
            profile = _profiles.new_profile(world, {"email": email})
        if profile is None or bool(profile.extra.get("suppressed")) == suppress:
            continue
        profile.extra["suppressed"] = suppress
        profile.extra["suppressed_at"] = profile.updated = world.clock()
        verb = "Manually Suppressed from" if suppress else "Manually Unsuppressed from"
        record_event(world, profile, f"{verb} Email Marketing", {}, integration="klaviyo")
        done += 1
    job.attributes.update(status="complete", completed_at=world.clock(), completed_count=done)
    job.attributes["skipped_count"] = len(job.extra["emails"]) - done


def _job_type(suppress: bool) -> str:  # noqa: FBT001 - a private two-way switch
    return f"profile-suppression-bulk-{'create' if suppress else 'delete'}-job"


def render(call: Call, job: Record) -> dict[str, Any]:
    """Return a suppression job resource object."""
    kind = _job_type(job.extra["suppress"])
    attrs = job.attributes
    return {
        "type": kind,
        "id": job.id,
        "attributes": {
            "status": attrs["status"],
            "created_at": iso(job.created),
            "total_count": len(job.extra["emails"]),
            "completed_count": attrs.get("completed_count", 0),
            "completed_at": iso(attrs["completed_at"]) if "completed_at" in attrs else None,
            "skipped_count": attrs.get("skipped_count", 0),
        },
        "links": links_self(call.base, f"/api/{kind}s/{job.id}"),
    }


def _suppression(call: Call, *, suppress: bool) -> Reply:
    entries, relationships = _entries(call, _job_type(suppress), MAX_SUPPRESS)
    emails = []
    for index, entry in enumerate(entries):
        email = dig(entry, f"{_BASE}/{index}", "attributes", "email")
        if not isinstance(email, str) or "@" not in email:
            raise invalid(
                "A valid 'email' is required.", pointer=f"{_BASE}/{index}/attributes/email"
            )
        emails.append(email)
    for name in ("list", "segment"):
        group_id = _related_id(relationships, name)
        if group_id is None:
            continue
        table = call.account.lists if name == "list" else call.account.segments
        if group_id not in table:
            raise not_found(name, group_id)
        members = (
            call.account.list_members.get(group_id, {})
            if name == "list"
            else _segments.members_of(call.account, table[group_id])
        )
        emails += [
            str(call.account.profiles[i].attributes["email"])
            for i in members
            if call.account.profiles[i].attributes.get("email")
        ]
    if not emails:
        raise invalid("Give profiles, a list or a segment.", pointer="/data")
    now = call.now
    job = Record(
        call.world.ids.ulid(now),
        {"status": "queued"},
        now,
        now,
        {
            "suppress": suppress,
            "emails": emails,
            "list_id": _related_id(relationships, "list"),
            "segment_id": _related_id(relationships, "segment"),
        },
    )
    call.account.suppression_jobs[job.id] = job
    return Reply(202, {"data": render(call, job), "links": links_self(call.base, call.path)})


def bulk_suppress_profiles(call: Call) -> Reply:
    """POST /api/profile-suppression-bulk-create-jobs: 202 with a queued job."""
    return _suppression(call, suppress=True)


def bulk_unsuppress_profiles(call: Call) -> Reply:
    """POST /api/profile-suppression-bulk-delete-jobs: 202 with a queued job."""
    return _suppression(call, suppress=False)


def _get_job(call: Call, *, suppress: bool) -> Reply:
    job = call.account.suppression_jobs.get(call.params["id"])
    if job is None or job.extra["suppress"] != suppress:
        raise not_found(_job_type(suppress), call.params["id"])
    advance(call.world, job)
    return Reply(200, {"data": render(call, job), "links": links_self(call.base, call.path)})


def _job_field(job: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        if name == "created":
            return job.created
        return job.attributes["status"] if name == "status" else job.extra.get(name)

    return get


def _list_jobs(call: Call, *, suppress: bool) -> Reply:
    jobs = select(
        [j for j in call.account.suppression_jobs.values() if j.extra["suppress"] == suppress],
        call.query,
        _job_field,
        filters=_JOB_FILTERS,
        sorts=frozenset({"created"}),
    )
    return collection(
        jobs, lambda j: render(call, j), base=call.base, path=call.path, query=call.query
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "bulk_subscribe_profiles": bulk_subscribe_profiles,
    "bulk_unsubscribe_profiles": bulk_unsubscribe_profiles,
    "bulk_suppress_profiles": bulk_suppress_profiles,
    "bulk_unsuppress_profiles": bulk_unsuppress_profiles,
    "get_bulk_suppress_profiles_job": lambda call: _get_job(call, suppress=True),
    "get_bulk_unsuppress_profiles_job": lambda call: _get_job(call, suppress=False),
    "get_bulk_suppress_profiles_jobs": lambda call: _list_jobs(call, suppress=True),
    "get_bulk_unsuppress_profiles_jobs": lambda call: _list_jobs(call, suppress=False),
}
