"""Jobs: bounded, resumable passes of integration work, and the engines that run them.

A job takes a client, a state store and its options; ``run()`` makes one pass and returns a
:class:`JobReport`. Run it yourself, on a schedule with the in-process runner, or on Celery or
RQ workers (``klaviyo_kit.jobs.celery``, ``klaviyo_kit.jobs.rq``, behind their extras). Names
that need SQLAlchemy (the ``sql`` extra) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from klaviyo_kit.jobs._delivery_task import DeliveryOutcome, deliver_batch, enqueue_events
from klaviyo_kit.jobs._engagement import (
    DEFAULT_ENGAGEMENT_METRICS,
    EngagementFunction,
    EngagementSource,
    KlaviyoEngagementSource,
    ScanStrategy,
)
from klaviyo_kit.jobs._health import check_delivery_queue, check_job, jobs_health
from klaviyo_kit.jobs._job import Job, JobReport, JobStatus, load_status, never_stop, save_status
from klaviyo_kit.jobs._lease import Lease, RedisLease, StoreLease
from klaviyo_kit.jobs._list_cleanup import (
    CleanupAction,
    CleanupPlan,
    CleanupTarget,
    ListCleanupJob,
)
from klaviyo_kit.jobs._metrics_export import MetricsExportJob
from klaviyo_kit.jobs._profile_source import (
    HostProfile,
    ProfileData,
    ProfileLookup,
    ProfileSource,
    ProfileWrite,
)
from klaviyo_kit.jobs._profile_sync import ProfileOutcome, ProfileSyncJob
from klaviyo_kit.jobs._profile_sync_conflicts import (
    ConflictPolicy,
    ProfileConflict,
    Side,
    last_write_wins,
    prefer_klaviyo,
    prefer_local,
)
from klaviyo_kit.jobs._runner import JobRunner
from klaviyo_kit.jobs._sinks import CSVSink, DailyAggregate, ExportedEvent, JSONLSink, Sink

if TYPE_CHECKING:
    from klaviyo_kit.jobs._engagement_sql import SQLEngagementSource
    from klaviyo_kit.jobs._profile_source_sql import ProfileColumns, SQLProfileSource
    from klaviyo_kit.jobs._sinks_sql import SQLSink

__all__ = [
    "DEFAULT_ENGAGEMENT_METRICS",
    "CSVSink",
    "CleanupAction",
    "CleanupPlan",
    "CleanupTarget",
    "ConflictPolicy",
    "DailyAggregate",
    "DeliveryOutcome",
    "EngagementFunction",
    "EngagementSource",
    "ExportedEvent",
    "HostProfile",
    "JSONLSink",
    "Job",
    "JobReport",
    "JobRunner",
    "JobStatus",
    "KlaviyoEngagementSource",
    "Lease",
    "ListCleanupJob",
    "MetricsExportJob",
    "ProfileColumns",
    "ProfileConflict",
    "ProfileData",
    "ProfileLookup",
    "ProfileOutcome",
    "ProfileSource",
    "ProfileSyncJob",
    "ProfileWrite",
    "RedisLease",
    "SQLEngagementSource",
    "SQLProfileSource",
    "SQLSink",
    "ScanStrategy",
    "Side",
    "Sink",
    "StoreLease",
    "check_delivery_queue",
    "check_job",
    "deliver_batch",
    "enqueue_events",
    "jobs_health",
    "last_write_wins",
    "load_status",
    "never_stop",
    "prefer_klaviyo",
    "prefer_local",
    "save_status",
]

_LAZY = {
    "SQLEngagementSource": "klaviyo_kit.jobs._engagement_sql",
    "ProfileColumns": "klaviyo_kit.jobs._profile_source_sql",
    "SQLProfileSource": "klaviyo_kit.jobs._profile_source_sql",
    "SQLSink": "klaviyo_kit.jobs._sinks_sql",
}


def __getattr__(name: str) -> object:
    """Import the names that need SQLAlchemy on first access."""
    if name not in _LAZY:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value: object = getattr(importlib.import_module(_LAZY[name]), name)
    if isinstance(value, type):
        value.__module__ = __name__
    globals()[name] = value
    return value


for _value in (
    EngagementSource,
    Job,
    JobReport,
    JobStatus,
    KlaviyoEngagementSource,
    ListCleanupJob,
    CleanupPlan,
    CleanupTarget,
    HostProfile,
    JobRunner,
    Lease,
    StoreLease,
    RedisLease,
    DeliveryOutcome,
    deliver_batch,
    enqueue_events,
    check_job,
    check_delivery_queue,
    jobs_health,
    MetricsExportJob,
    CSVSink,
    JSONLSink,
    Sink,
    DailyAggregate,
    ExportedEvent,
    ProfileData,
    ProfileLookup,
    ProfileSource,
    ProfileSyncJob,
    ProfileWrite,
    ProfileConflict,
    last_write_wins,
    prefer_klaviyo,
    prefer_local,
    load_status,
    never_stop,
    save_status,
):
    _value.__module__ = __name__
