"""The :class:`Sandbox`: one in-memory Klaviyo account served in process or over HTTP."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _consent, _imports, _sends
from klaviyo_kit.sandbox._app import App, HttpResponse
from klaviyo_kit.sandbox._context import World
from klaviyo_kit.sandbox._events import record_event
from klaviyo_kit.sandbox._faults import Fault, FaultPlan, FaultSequence
from klaviyo_kit.sandbox._handlers import HANDLERS
from klaviyo_kit.sandbox._limits import WindowCounter
from klaviyo_kit.sandbox._pages import fault_response
from klaviyo_kit.sandbox._server import SandboxServer
from klaviyo_kit.sandbox._state import Account, Ids, Record
from klaviyo_kit.sandbox._topics import metric_for
from klaviyo_kit.sandbox._transport import SandboxTransport
from klaviyo_kit.sandbox._webhook_api import check_url
from klaviyo_kit.sandbox._webhooks import WebhookDelivery, WebhookOutbox

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import httpx


_NO_FAULT = Fault()
FAULTS_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class Exchange:
    """The fate of one request: a response, or a dropped/hung connection (``response=None``)."""

    fault: Fault
    response: HttpResponse | None
    hang_seconds: float = 0.0


class Sandbox:
    """A stateful, Klaviyo-compatible fake of one account.

    The same handler answers in process (:meth:`transport`) and over HTTP (:meth:`serve`). Rate
    limits follow the operation table exactly, faults come from a seeded :class:`FaultPlan`, and
    subscribed system events are delivered as signed webhooks.

    Args:
        seed: Seed for ids (``None``: random ids).
        clock: Epoch seconds now; drives timestamps and rate-limit windows.
        sleep: Used for injected latency and in-process hangs.
        time_scale: Run Klaviyo's windows this many times faster (60 makes a minute last 1 s).
        rate_limits: ``False`` turns rate limiting off.
        faults: A fault plan, or ``None`` for none.
        api_key: Accept only this private key (default: any well-formed ``pk_`` key).
        account_id: The 6-character account id (default: derived from ``seed``).
        webhook_transport: httpx transport for webhook deliveries (default: real HTTP).

    Attributes:
        faults_seen: The fault each request drew, oldest first (at most the last 10,000).
        sleep: The sleep used for injected latency and in-process hangs.

    Example:
        >>> import httpx
        >>> sandbox = Sandbox(seed=1)
        >>> client = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox")
        >>> client.get("/api/accounts").status_code
        401
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        time_scale: float = 1.0,
        rate_limits: bool = True,
        faults: FaultPlan | None = None,
        api_key: str | None = None,
        account_id: str | None = None,
        webhook_transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Create an empty account."""
        ids = Ids(seed)
        self.sleep = sleep
        self._lock = threading.RLock()
        self._world = World(Account(account_id or ids.short()), ids, clock)
        self._outbox = WebhookOutbox(self._world, transport=webhook_transport)
        self._world.emit = self._outbox.emit
        counter = WindowCounter(clock, time_scale=time_scale) if rate_limits else None
        self._app = App(self._world, HANDLERS, counter, api_key=api_key, time_scale=time_scale)
        self._faults: FaultSequence | None = None
        self.faults_seen: list[Fault] = []
        self._seen_lock = threading.Lock()
        self.set_faults(faults)

    @property
    def account(self) -> Account:
        """The account's stored resources (read them in tests; change them through the API)."""
        return self._world.account

    @property
    def deliveries(self) -> tuple[WebhookDelivery, ...]:
        """Every webhook delivery made so far, oldest first."""
        return tuple(self._outbox.sent)

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Start drawing faults from ``plan`` (from its seed), or stop injecting with ``None``."""
        self._faults = plan.start() if plan is not None else None

    def handle(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        *,
        base: str = "http://sandbox.local",
    ) -> HttpResponse:
        """Answer one request with no fault injection (the core both servers share).

        Args:
            method: HTTP method.
            path: URL path, e.g. ``/api/profiles``.
            query: Raw query string without ``?``.
            headers: Request headers (any case).
            body: Raw request body.
            base: ``scheme://host`` used in ``links``.

        Returns:
            The status, headers and body bytes.
        """
        with self._lock:
            response = self._app.handle(method, path, query, headers or {}, body, base=base)
        self._outbox.flush()
        return response

    def exchange(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        base: str,
    ) -> Exchange:
        """Answer one request through the fault plan (used by the transport and the server)."""
        fault = self._faults.draw() if self._faults is not None else _NO_FAULT
        with self._seen_lock:
            self.faults_seen.append(fault)
            if len(self.faults_seen) > FAULTS_KEPT:  # a long-running server keeps recent ones
                del self.faults_seen[: FAULTS_KEPT // 2]
        if fault.latency:
            self.sleep(fault.latency)
        if fault.kind in {"drop", "hang"}:
            plan = self._faults.plan if self._faults is not None else FaultPlan()
            return Exchange(fault, None, plan.hang_seconds)
        if fault.kind == "lost":  # carried out and stored; the answer never arrives
            self.handle(method, path, query, headers, body, base=base)
            return Exchange(fault, None)
        if fault.kind is not None:
            return Exchange(fault, fault_response(fault.status))
        return Exchange(fault, self.handle(method, path, query, headers, body, base=base))

    def add_segment(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        where: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> str:
        """Define a segment (the API cannot create one from a definition here).

        Args:
            name: The segment's name.
            members: Profile ids that are always members.
            where: A rule over a profile's attributes (``email``, ``properties``, …) that makes
                every matching profile a member, re-evaluated on every read.

        Returns:
            The new segment's id.
        """
        with self._lock:
            world = self._world
            now = world.clock()
            record = Record(world.ids.short(), {"name": name}, now, now, {"rule": where})
            world.account.segments[record.id] = record
            world.account.segment_members[record.id] = dict.fromkeys(members, now)
            return record.id

    def add_webhook(
        self,
        endpoint: str | Callable[[WebhookDelivery], object],
        *,
        topics: Iterable[str],
        secret_key: str,
        name: str = "sandbox webhook",
    ) -> str:
        """Subscribe a URL or a Python callable to system topics, as ``create_webhook`` would.

        Args:
            endpoint: An ``https`` (or loopback ``http``) URL, or a callable that receives each
                :class:`WebhookDelivery`.
            topics: Topic ids, e.g. ``event:klaviyo.opened_email``.
            secret_key: The signing secret.
            name: The webhook's name.

        Returns:
            The webhook's id.
        """
        with self._lock:
            world = self._world
            now = world.clock()
            url = endpoint if isinstance(endpoint, str) else f"callable://{name}"
            check_url(url, "/data/attributes/endpoint_url")
            attrs = {"name": name, "description": None, "endpoint_url": url, "enabled": True}
            extra = {"secret_key": secret_key, "topics": list(topics)}
            record = Record(world.ids.ulid(now), attrs, now, now, extra)
            world.account.webhooks[record.id] = record
            if not isinstance(endpoint, str):
                self._outbox.receivers[record.id] = endpoint
            return record.id

    def simulate(
        self,
        profile_id: str,
        topic: str,
        *,
        campaign_id: str | None = None,
        properties: Mapping[str, object] | None = None,
    ) -> str:
        """Record engagement as Klaviyo would, e.g. "profile X opened campaign Y".

        The event is stored under the topic's Klaviyo metric (``opened_email`` →
        ``Opened Email``) and delivered to subscribed webhooks.

        Args:
            profile_id: Whose engagement it is.
            topic: A system topic, ``event:klaviyo.opened_email`` or just ``opened_email``.
            campaign_id: The campaign engaged with, named in the event properties.
            properties: Extra event properties.

        Returns:
            The event id.

        Raises:
            KeyError: If the profile or campaign does not exist.
            ValueError: If the topic is not a Klaviyo system topic.
        """
        metric = metric_for(topic)
        with self._lock:
            account = self._world.account
            profile = account.profiles[profile_id]
            props = dict(properties or {})
            if campaign_id is not None:
                campaign = account.campaigns[campaign_id]
                props.setdefault("Campaign Name", campaign.attributes["definition"].get("name"))
                props.setdefault("$message", next(iter(campaign.extra["messages"]), None))
            event = record_event(self._world, profile, metric, props, integration="klaviyo")
        self._outbox.flush()
        return event.id

    def run_jobs(self) -> None:
        """Finish every queued or processing job (imports, suppressions, campaign sends)."""
        with self._lock:
            world = self._world
            for _ in range(2):
                for job in list(world.account.import_jobs.values()):
                    _imports.advance(world, job)
                for job in list(world.account.suppression_jobs.values()):
                    _consent.advance(world, job)
                for job in list(world.account.send_jobs.values()):
                    _sends.advance(world, job)
        self._outbox.flush()

    def transport(self) -> httpx.BaseTransport:
        """Return an in-process ``httpx`` transport answering from this sandbox."""
        return SandboxTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """Serve this sandbox over HTTP in a background thread.

        Args:
            host: Interface to bind.
            port: Port to bind; 0 picks a free one.

        Returns:
            The running server; use it as a context manager or call ``close()``.
        """
        return SandboxServer(self, host, port)
