"""Receive Klaviyo webhooks in FastAPI: the framework reads the request, klaviyo-kit does the rest.

Run: ``KLAVIYO_WEBHOOK_SIGNING_SECRET=... uvicorn --factory examples.fastapi_app.app:create_app``
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

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


def create_app(receiver: WebhookReceiver | None = None) -> FastAPI:
    """Build the app; ``receiver`` defaults to :func:`default_receiver`."""
    hooks = receiver if receiver is not None else default_receiver()
    app = FastAPI()

    @app.post("/webhooks/klaviyo")
    async def klaviyo_webhook(request: Request) -> Response:
        # Verify the raw bytes: never let FastAPI parse the JSON body first. Read them in
        # chunks and stop past the cap (request.body() would buffer any size); the receiver
        # then answers 413 without hashing.
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > hooks.max_body_bytes:
                break
        answer = await hooks.ahandle(bytes(body), request.headers)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    return app
