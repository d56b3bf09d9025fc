"""A stateful, Klaviyo-compatible local server for tests, demos and benchmarks.

Klaviyo has no sandbox, test keys or mock server. :class:`Sandbox` models one account in memory
and answers the official SDK's requests with the shapes, errors, rate limits and signed webhooks
Klaviyo uses, in process (``sandbox.transport()``) or over HTTP (``sandbox.serve()``).

Example:
    >>> from klaviyo_kit.sandbox import Sandbox
    >>> with Sandbox().serve() as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

from klaviyo_kit.sandbox._app import HttpResponse
from klaviyo_kit.sandbox._faults import Fault, FaultPlan
from klaviyo_kit.sandbox._sandbox import Exchange, Sandbox
from klaviyo_kit.sandbox._server import SandboxServer
from klaviyo_kit.sandbox._state import Account, Record
from klaviyo_kit.sandbox._webhooks import WebhookDelivery

__all__ = [
    "Account",
    "Exchange",
    "Fault",
    "FaultPlan",
    "HttpResponse",
    "Record",
    "Sandbox",
    "SandboxServer",
    "WebhookDelivery",
]

for _value in (
    Account,
    Exchange,
    Fault,
    FaultPlan,
    HttpResponse,
    Record,
    Sandbox,
    SandboxServer,
    WebhookDelivery,
):
    _value.__module__ = __name__
del _value
