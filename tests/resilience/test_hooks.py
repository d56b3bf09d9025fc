from __future__ import annotations

import logging
import subprocess
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from klaviyo_kit.resilience import (
    BaseHooks,
    BreakerChange,
    Hooks,
    LoggingHooks,
    OpenTelemetryHooks,
    RequestEnd,
    RequestStart,
    RetryScheduled,
    ThrottleWait,
    combine_hooks,
)

EVENTS = (
    ("on_request_start", RequestStart(1, "get_profiles", 1, 0.25)),
    ("on_request_end", RequestEnd(1, "get_profiles", 1, 200, 0.1)),
    ("on_retry", RetryScheduled("get_profiles", 1, 2.0, "RateLimitError", 429)),
    ("on_throttle_wait", ThrottleWait("get_profiles", 0.5, 2)),
    ("on_breaker_change", BreakerChange("klaviyo", "closed", "open", 5)),
)


class Recorder(BaseHooks):
    def __init__(self) -> None:
        self.seen: list[object] = []

    def on_request_start(self, event: RequestStart) -> None:
        self.seen.append(event)

    def on_request_end(self, event: RequestEnd) -> None:
        self.seen.append(event)

    def on_retry(self, event: RetryScheduled) -> None:
        self.seen.append(event)

    def on_throttle_wait(self, event: ThrottleWait) -> None:
        self.seen.append(event)

    def on_breaker_change(self, event: BreakerChange) -> None:
        self.seen.append(event)


class Broken(BaseHooks):
    def on_retry(self, event: RetryScheduled) -> None:
        raise RuntimeError("hook bug")


def fire(hooks: Hooks) -> None:
    for method, event in EVENTS:
        getattr(hooks, method)(event)


def test_combined_hooks_reach_every_hook_and_survive_a_broken_one(caplog):
    first, second = Recorder(), Recorder()
    combined = combine_hooks(first, None, [Broken(), combine_hooks(second)])
    assert isinstance(combined, Hooks)
    assert repr(combined) == "combine_hooks(Recorder, Broken, Recorder)"
    with caplog.at_level(logging.ERROR, logger="klaviyo_kit"):
        fire(combined)
    assert first.seen == second.seen == [event for _, event in EVENTS]
    assert "Broken.on_retry failed" in caplog.text
    fire(combine_hooks())
    fire(BaseHooks())


def test_logging_hooks_log_to_the_klaviyo_kit_logger(caplog):
    with caplog.at_level(logging.DEBUG, logger="klaviyo_kit"):
        fire(LoggingHooks())
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert levels[0] == ("DEBUG", "klaviyo get_profiles attempt 1 starting (throttled 0.250s)")
    assert levels[2] == (
        "INFO",
        "klaviyo get_profiles attempt 1 failed with RateLimitError (429); retrying in 2.00s",
    )
    assert levels[4][0] == "WARNING"
    assert all(r.name == "klaviyo_kit" for r in caplog.records)
    assert caplog.records[0].klaviyo_operation == "get_profiles"
    assert not logging.getLogger("klaviyo_kit").handlers
    assert "klaviyo_kit" in repr(LoggingHooks())


def test_opentelemetry_hooks_make_one_span_per_call():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    hooks = OpenTelemetryHooks(provider)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("parent"):
        fire(hooks)
        hooks.on_request_start(RequestStart(2, "create_event", 2))
        hooks.on_request_end(RequestEnd(2, "create_event", 2, None, 0.3, "ConnectError"))
        hooks.on_request_end(RequestEnd(99, "create_event", 1, 200, 0.1))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    ok = spans["klaviyo get_profiles"]
    assert ok.kind is trace.SpanKind.CLIENT
    assert dict(ok.attributes or {}) == {
        "klaviyo.operation": "get_profiles",
        "klaviyo.attempt": 1,
        "klaviyo.throttle_wait": 0.25,
        "http.response.status_code": 200,
    }
    failed = spans["klaviyo create_event"]
    assert (failed.attributes or {})["error.type"] == "ConnectError"
    assert failed.status.status_code is trace.StatusCode.ERROR
    parent = spans["parent"]
    assert [e.name for e in parent.events] == [
        "klaviyo.retry",
        "klaviyo.throttle_wait",
        "klaviyo.breaker",
    ]
    assert "open_spans=0" in repr(hooks)


GLOBAL_PROVIDER = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from klaviyo_kit.resilience import OpenTelemetryHooks, RequestEnd, RequestStart

hooks = OpenTelemetryHooks()  # built before the application installs its provider
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
hooks.on_request_start(RequestStart(1, "get_lists", 1))
hooks.on_request_end(RequestEnd(1, "get_lists", 1, 200, 0.1))
print([s.name for s in exporter.get_finished_spans()])
"""


def test_opentelemetry_hooks_use_the_global_provider_by_default():
    # In a child process: the global provider can be set only once per process.
    out = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROVIDER], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "['klaviyo get_lists']"
