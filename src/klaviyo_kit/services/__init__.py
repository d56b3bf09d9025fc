"""Services: the everyday jobs (profiles, events, lists, segments, campaigns, metrics).

Each service's logic is written once as a flow and served by a synchronous class (on
``KlaviyoClient``) and an asynchronous twin (on ``AsyncKlaviyoClient``) with the same method names.
"""

from __future__ import annotations

from klaviyo_kit.services._base import AsyncRunner, AsyncService, Page, Runner, SyncService
from klaviyo_kit.services._event_inputs import EventInput, TrackedEvent
from klaviyo_kit.services._events import AsyncEvents, Events, TrackReport
from klaviyo_kit.services._flow import Call, Flow, Sleep, arun_flow, run_flow
from klaviyo_kit.services._inputs import ProfileInput
from klaviyo_kit.services._orders import Order, OrderItem
from klaviyo_kit.services._profiles import AsyncProfiles, ImportReport, Profiles, RowError
from klaviyo_kit.services._sender import EventSender, SenderStats

__all__ = [
    "AsyncEvents",
    "AsyncProfiles",
    "AsyncRunner",
    "AsyncService",
    "Call",
    "EventInput",
    "EventSender",
    "Events",
    "Flow",
    "ImportReport",
    "Order",
    "OrderItem",
    "Page",
    "ProfileInput",
    "Profiles",
    "RowError",
    "Runner",
    "SenderStats",
    "Sleep",
    "SyncService",
    "TrackReport",
    "TrackedEvent",
    "arun_flow",
    "run_flow",
]
