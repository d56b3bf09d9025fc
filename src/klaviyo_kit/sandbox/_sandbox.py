"""The :class:`Sandbox`: one in-memory Klaviyo account served in process or over HTTP."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from klaviyo_kit.sandbox import (
    _accounts,
    _aggregates,
    _campaigns,
    _consent,
    _events,
    _imports,
    _lists,
    _metrics,
    _profiles,
    _segments,
    _sends,
    _templates,
)
from klaviyo_kit.sandbox._app import App, HttpResponse
from klaviyo_kit.sandbox._context import World
from klaviyo_kit.sandbox._faults import Fault, FaultPlan, FaultSequence
from klaviyo_kit.sandbox._limits import WindowCounter
from klaviyo_kit.sandbox._pages import fault_response
from klaviyo_kit.sandbox._server import SandboxServer
from klaviyo_kit.sandbox._state import Account, Ids
from klaviyo_kit.sandbox._transport import SandboxTransport
from klaviyo_kit.sandbox._webhooks import WebhookDelivery, WebhookOutbox

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._jsonapi import Reply

_HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    **_accounts.HANDLERS,
    **_profiles.HANDLERS,
    **_events.HANDLERS,
    **_metrics.HANDLERS,
    **_aggregates.HANDLERS,
    **_lists.HANDLERS,
    **_segments.HANDLERS,
    **_templates.HANDLERS,
    **_campaigns.HANDLERS,
    **_sends.HANDLERS,
    **_imports.HANDLERS,
    **_consent.HANDLERS,
}


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
        self._app = App(self._world, _HANDLERS, counter, api_key=api_key, time_scale=time_scale)
        self._faults: FaultSequence | None = None
        self.faults_seen: list[Fault] = []
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
        fault = self._faults.draw() if self._faults is not None else Fault()
        self.faults_seen.append(fault)
        if fault.latency:
            self.sleep(fault.latency)
        if fault.kind in {"drop", "hang"}:
            plan = self._faults.plan if self._faults is not None else FaultPlan()
            return Exchange(fault, None, plan.hang_seconds)
        if fault.kind is not None:
            return Exchange(fault, fault_response(fault.status))
        return Exchange(fault, self.handle(method, path, query, headers, body, base=base))

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
