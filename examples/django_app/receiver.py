"""Receive Klaviyo webhooks in Django: the framework reads the request, klaviyo-kit does the rest.

Add ``path("webhooks/klaviyo", klaviyo_webhook_view(default_receiver()))`` to your urlpatterns.
Django refuses bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB by default) before reading
them, answered 413 here; Klaviyo batches up to 1,000 events per delivery, so raise it to the
receiver's ``max_body_bytes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from klaviyo_kit import KlaviyoSettings
from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.webhooks import WebhookReceiver, WebhookRouter, WebhookVerifier
from klaviyo_kit.webhooks.handlers import SQLWebhookRepository, register_default_handlers

if TYPE_CHECKING:
    from collections.abc import Callable


def default_receiver() -> WebhookReceiver:
    """Verify with the secret from the environment; dedupe and store changes in SQLite."""
    store = SQLStateStore("sqlite:///klaviyo_kit_state.sqlite3")
    router = WebhookRouter(store)
    register_default_handlers(router, SQLWebhookRepository.from_store(store))
    return WebhookReceiver(WebhookVerifier.from_settings(KlaviyoSettings()), router)


def klaviyo_webhook_view(receiver: WebhookReceiver) -> Callable[[HttpRequest], HttpResponse]:
    """Return a view that verifies and dispatches each delivery POSTed to it."""

    def klaviyo_webhook(request: HttpRequest) -> HttpResponse:
        # request.body is the raw bytes: verify them before anything parses the JSON.
        try:
            body = request.body
        except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE: refused unread
            return JsonResponse({"error": "body_too_large"}, status=413)
        answer = receiver.handle(body, request.headers)
        response = HttpResponse(answer.body, status=answer.status)
        for name, value in answer.headers:
            response[name] = value
        return response

    # Klaviyo signs its requests; it cannot send a CSRF token.
    view: Callable[[HttpRequest], HttpResponse] = csrf_exempt(require_POST(klaviyo_webhook))
    return view
