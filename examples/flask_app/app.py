"""Receive Klaviyo webhooks in Flask: the framework reads the request, klaviyo-kit does the rest.

Run: ``KLAVIYO_WEBHOOK_SIGNING_SECRET=... flask --app examples.flask_app.app:create_app run``
"""

from __future__ import annotations

from flask import Flask, Response, request

from klaviyo_kit import KlaviyoSettings
from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.webhooks import WebhookReceiver, WebhookRouter, WebhookVerifier
from klaviyo_kit.webhooks.handlers import SQLWebhookRepository, register_default_handlers


def default_receiver() -> WebhookReceiver:
    """Verify with the secret from the environment; dedupe and store changes in SQLite."""
    store = SQLStateStore("sqlite:///klaviyo_kit_state.sqlite3")
    router = WebhookRouter(store)
    register_default_handlers(router, SQLWebhookRepository.from_store(store))
    return WebhookReceiver(WebhookVerifier.from_settings(KlaviyoSettings()), router)


def create_app(receiver: WebhookReceiver | None = None) -> Flask:
    """Build the app; ``receiver`` defaults to :func:`default_receiver`."""
    hooks = receiver if receiver is not None else default_receiver()
    app = Flask(__name__)
    # Refuse oversized bodies before reading them (Flask answers 413).
    app.config["MAX_CONTENT_LENGTH"] = hooks.max_body_bytes

    @app.post("/webhooks/klaviyo")
    def klaviyo_webhook() -> Response:
        # get_data() is the raw body: verify it before anything parses the JSON.
        answer = hooks.handle(request.get_data(cache=False), dict(request.headers))
        return Response(answer.body, status=answer.status, headers=list(answer.headers))

    return app
