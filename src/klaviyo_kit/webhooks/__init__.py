"""Verify Klaviyo's webhook signatures, route topics to handlers, process each event once.

Nothing here imports a web framework or the Klaviyo SDK: :class:`WebhookVerifier` works on the
raw body bytes and a header mapping, :class:`WebhookRouter` dispatches verified events, and
:class:`WebhookReceiver` turns both into an HTTP answer that :class:`WebhookASGIApp`,
:class:`WebhookWSGIApp` or a ~30-line framework view sends back.
"""

from __future__ import annotations

from klaviyo_kit.webhooks._asgi import WebhookASGIApp
from klaviyo_kit.webhooks._delivery import WebhookDelivery, WebhookEvent, parse_delivery
from klaviyo_kit.webhooks._klaviyo_scheme import KlaviyoSignatureScheme
from klaviyo_kit.webhooks._ports import DeliveryLedger, EventQueue
from klaviyo_kit.webhooks._reasons import VerificationReason
from klaviyo_kit.webhooks._receiver import WebhookReceiver, WebhookResponse
from klaviyo_kit.webhooks._results import DispatchReport, EventResult, EventStatus
from klaviyo_kit.webhooks._router import WebhookHandler, WebhookRouter
from klaviyo_kit.webhooks._scheme import SignatureScheme, VerifiedPayload
from klaviyo_kit.webhooks._signing import SignedWebhook, build_delivery, sign_webhook
from klaviyo_kit.webhooks._standard_scheme import StandardWebhooksScheme
from klaviyo_kit.webhooks._verifier import WebhookVerifier
from klaviyo_kit.webhooks._wsgi import WebhookWSGIApp

__all__ = [
    "DeliveryLedger",
    "DispatchReport",
    "EventQueue",
    "EventResult",
    "EventStatus",
    "KlaviyoSignatureScheme",
    "SignatureScheme",
    "SignedWebhook",
    "StandardWebhooksScheme",
    "VerificationReason",
    "VerifiedPayload",
    "WebhookASGIApp",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookHandler",
    "WebhookReceiver",
    "WebhookResponse",
    "WebhookRouter",
    "WebhookVerifier",
    "WebhookWSGIApp",
    "build_delivery",
    "parse_delivery",
    "sign_webhook",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = __name__
del _name, _obj
