"""Services: the everyday jobs (profiles, events, lists, segments, campaigns, metrics).

Each service's logic is written once as a flow and served by a synchronous class (on
``KlaviyoClient``) and an asynchronous twin (on ``AsyncKlaviyoClient``) with the same method names.
"""

from __future__ import annotations

from klaviyo_kit.services._base import AsyncRunner, AsyncService, Page, Runner, SyncService
from klaviyo_kit.services._flow import Call, Flow, Sleep, arun_flow, run_flow
from klaviyo_kit.services._inputs import ProfileInput
from klaviyo_kit.services._profiles import AsyncProfiles, ImportReport, Profiles, RowError

__all__ = [
    "AsyncProfiles",
    "AsyncRunner",
    "AsyncService",
    "Call",
    "Flow",
    "ImportReport",
    "Page",
    "ProfileInput",
    "Profiles",
    "RowError",
    "Runner",
    "Sleep",
    "SyncService",
    "arun_flow",
    "run_flow",
]
