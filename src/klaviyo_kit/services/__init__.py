"""Services: the everyday jobs (profiles, events, lists, segments, campaigns, metrics).

Each service's logic is written once as a flow and served by a synchronous class (on
``KlaviyoClient``) and an asynchronous twin (on ``AsyncKlaviyoClient``) with the same method names.
"""

from __future__ import annotations

from klaviyo_kit.services._aggregates import AggregateRow, Interval, Measurement, MetricAggregate
from klaviyo_kit.services._async_sender import AsyncEventSender
from klaviyo_kit.services._base import AsyncRunner, AsyncService, Page, Runner, SyncService
from klaviyo_kit.services._bulk import BulkSubmission
from klaviyo_kit.services._campaign_inputs import EmailContent
from klaviyo_kit.services._campaign_send import CampaignSendError, CampaignSendTimeoutError
from klaviyo_kit.services._campaigns import AsyncCampaigns, Campaigns
from klaviyo_kit.services._consent import Channel, Subscriber, SubscriberLike
from klaviyo_kit.services._event_inputs import EventInput, TrackedEvent
from klaviyo_kit.services._events import AsyncEvents, Events, TrackReport
from klaviyo_kit.services._flow import Call, Flow, Sleep, arun_flow, run_flow
from klaviyo_kit.services._inputs import ProfileInput
from klaviyo_kit.services._lists import AsyncLists, Lists, OptInProcess
from klaviyo_kit.services._metrics import AsyncMetrics, Metrics
from klaviyo_kit.services._orders import Order, OrderItem
from klaviyo_kit.services._profile_import import ImportReport, RowError
from klaviyo_kit.services._profiles import AsyncProfiles, Profiles
from klaviyo_kit.services._segments import AsyncSegments, Segments
from klaviyo_kit.services._sender import EventSender, SenderStats

__all__ = [
    "AggregateRow",
    "AsyncCampaigns",
    "AsyncEventSender",
    "AsyncEvents",
    "AsyncLists",
    "AsyncMetrics",
    "AsyncProfiles",
    "AsyncRunner",
    "AsyncSegments",
    "AsyncService",
    "BulkSubmission",
    "Call",
    "CampaignSendError",
    "CampaignSendTimeoutError",
    "Campaigns",
    "Channel",
    "EmailContent",
    "EventInput",
    "EventSender",
    "Events",
    "Flow",
    "ImportReport",
    "Interval",
    "Lists",
    "Measurement",
    "MetricAggregate",
    "Metrics",
    "OptInProcess",
    "Order",
    "OrderItem",
    "Page",
    "ProfileInput",
    "Profiles",
    "RowError",
    "Runner",
    "Segments",
    "SenderStats",
    "Sleep",
    "Subscriber",
    "SubscriberLike",
    "SyncService",
    "TrackReport",
    "TrackedEvent",
    "arun_flow",
    "run_flow",
]
