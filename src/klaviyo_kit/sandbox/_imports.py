"""Profile bulk import jobs: queued → processing → complete per poll, with per-profile errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _lists, _profiles
from klaviyo_kit.sandbox._context import as_array, dig
from klaviyo_kit.sandbox._filters import select
from klaviyo_kit.sandbox._jsonapi import (
    Reply,
    SandboxAPIError,
    collection,
    invalid,
    links_self,
    not_found,
    relationship,
)
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call, World

MAX_PROFILES = 10_000
_EXPIRY = 7 * 24 * 3600
_BASE = "/data/attributes/profiles/data"
_LISTS = "/data/relationships/lists/data"


def _run(world: World, job: Record) -> None:
    errors: list[dict[str, Any]] = job.extra["errors"]
    for index, entry in enumerate(job.extra["payload"]):
        attrs = entry.get("attributes") if isinstance(entry, dict) else None
        try:
            if not isinstance(attrs, dict):
                raise invalid("'attributes' must be an object.", pointer="/data/attributes")
            profile_id = entry.get("id")
            record, _ = _profiles.upsert(
                world, attrs, profile_id if isinstance(profile_id, str) else None
            )
        except SandboxAPIError as error:
            pointer = (error.pointer or "/data/attributes").replace("/data", f"{_BASE}/{index}", 1)
            errors.append(
                {
                    "id": world.ids.ulid(world.clock()),
                    "code": error.code,
                    "title": error.title,
                    "detail": error.detail,
                    "source": {"pointer": pointer},
                    "original_payload": attrs if isinstance(attrs, dict) else {},
                }
            )
            continue
        job.extra["profiles"].append(record.id)
        for list_id in job.extra["lists"]:
            world.account.list_members.setdefault(list_id, {}).setdefault(record.id, world.clock())


def advance(world: World, job: Record) -> None:
    """Move an import job one step; the profiles are written when it completes."""
    now = world.clock()
    status = job.attributes["status"]
    if status == "queued":
        job.attributes.update(status="processing", started_at=now)
    elif status == "processing":
        _run(world, job)
        job.attributes.update(status="complete", completed_at=now)


def render(call: Call, job: Record) -> dict[str, Any]:
    """Return a profile bulk import job resource object."""
    path = f"/api/profile-bulk-import-jobs/{job.id}"
    attrs = job.attributes
    done = attrs["status"] == "complete"
    failed = len(job.extra["errors"])
    return {
        "type": "profile-bulk-import-job",
        "id": job.id,
        "attributes": {
            "status": attrs["status"],
            "created_at": iso(job.created),
            "total_count": len(job.extra["payload"]),
            "completed_count": len(job.extra["profiles"]) if done else 0,
            "failed_count": failed,
            "completed_at": iso(attrs["completed_at"]) if done else None,
            "expires_at": iso(job.created + _EXPIRY),
            "started_at": iso(attrs["started_at"]) if "started_at" in attrs else None,
        },
        "relationships": {
            "lists": relationship(
                call.base, path, "lists", [{"type": "list", "id": i} for i in job.extra["lists"]]
            ),
            "profiles": relationship(call.base, path, "profiles", None),
            "import-errors": relationship(call.base, path, "import-errors", None),
        },
        "links": links_self(call.base, path),
    }


def bulk_import_profiles(call: Call) -> Reply:
    """POST /api/profile-bulk-import-jobs: 202 with a queued job."""
    data = call.data("profile-bulk-import-job")
    profiles = dig(data, "/data", "attributes", "profiles", "data")
    if not isinstance(profiles, list) or not 1 <= len(profiles) <= MAX_PROFILES:
        raise invalid("Between 1 and 10000 profiles are allowed per job.", pointer=_BASE)
    lists = as_array(dig(data, "/data", "relationships", "lists", "data"), _LISTS)
    list_ids = [str(dig(item, f"{_LISTS}/{n}", "id")) for n, item in enumerate(lists)]
    for index, list_id in enumerate(list_ids):
        if list_id not in call.account.lists:
            raise invalid(
                f"List {list_id} does not exist.",
                pointer=f"/data/relationships/lists/data/{index}/id",
            )
    now = call.now
    job = Record(
        call.world.ids.ulid(now),
        {"status": "queued"},
        now,
        now,
        {"payload": profiles, "lists": list_ids, "profiles": [], "errors": []},
    )
    call.account.import_jobs[job.id] = job
    return Reply(202, {"data": render(call, job), "links": links_self(call.base, call.path)})


def _find(call: Call) -> Record:
    job = call.account.import_jobs.get(call.params["id"])
    if job is None:
        raise not_found("profile bulk import job", call.params["id"])
    return job


def get_bulk_import_profiles_job(call: Call) -> Reply:
    """GET /api/profile-bulk-import-jobs/{job_id}: each poll moves the job one step on."""
    job = _find(call)
    advance(call.world, job)
    return Reply(200, {"data": render(call, job), "links": links_self(call.base, call.path)})


def _job_field(job: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        return job.created if name == "created_at" else job.attributes.get(name)

    return get


def get_bulk_import_profiles_jobs(call: Call) -> Reply:
    """GET /api/profile-bulk-import-jobs."""
    jobs = select(
        call.account.import_jobs.values(),
        call.query,
        _job_field,
        filters={"status": frozenset({"equals", "any"})},
        sorts=frozenset({"created_at"}),
    )
    return collection(
        jobs,
        lambda j: render(call, j),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def get_errors_for_bulk_import_profiles_job(call: Call) -> Reply:
    """GET /api/profile-bulk-import-jobs/{id}/import-errors."""

    def render_error(error: dict[str, Any]) -> dict[str, Any]:
        attributes = {k: v for k, v in error.items() if k != "id"}
        return {"type": "import-error", "id": error["id"], "attributes": attributes}

    return collection(
        _find(call).extra["errors"],
        render_error,
        base=call.base,
        path=call.path,
        query=call.query,
    )


def get_profiles_for_bulk_import_profiles_job(call: Call) -> Reply:
    """GET /api/profile-bulk-import-jobs/{id}/profiles."""
    records = [call.account.profiles[i] for i in _find(call).extra["profiles"]]
    return collection(
        records,
        lambda r: _profiles.render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def get_list_for_bulk_import_profiles_job(call: Call) -> Reply:
    """GET /api/profile-bulk-import-jobs/{id}/lists."""
    records = [call.account.lists[i] for i in _find(call).extra["lists"] if i in call.account.lists]
    return collection(
        records,
        lambda r: _lists.render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "bulk_import_profiles": bulk_import_profiles,
    "get_bulk_import_profiles_job": get_bulk_import_profiles_job,
    "get_bulk_import_profiles_jobs": get_bulk_import_profiles_jobs,
    "get_errors_for_bulk_import_profiles_job": get_errors_for_bulk_import_profiles_job,
    "get_profiles_for_bulk_import_profiles_job": get_profiles_for_bulk_import_profiles_job,
    "get_list_for_bulk_import_profiles_job": get_list_for_bulk_import_profiles_job,
}
