from __future__ import annotations

import sys
import types

import django
import pytest
from django.conf import settings
from django.urls import path
from examples.django_app.receiver import klaviyo_webhook_view


@pytest.fixture
def django_client(hooks):
    urls = types.ModuleType("klaviyo_kit_test_urls")
    urls.urlpatterns = [path("webhooks/klaviyo", klaviyo_webhook_view(hooks.receiver))]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    if not settings.configured:
        settings.configure(
            ROOT_URLCONF=urls.__name__,
            ALLOWED_HOSTS=["testserver"],
            SECRET_KEY="django-test-only",
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            DATA_UPLOAD_MAX_MEMORY_SIZE=hooks.receiver.max_body_bytes,
        )
        django.setup()
    from django.test import Client
    from django.test.utils import override_settings

    # Settings are configured once per process: pin what this test relies on.
    with override_settings(
        ROOT_URLCONF=urls.__name__, DATA_UPLOAD_MAX_MEMORY_SIZE=hooks.receiver.max_body_bytes
    ):
        yield Client(enforce_csrf_checks=True)
    del sys.modules[urls.__name__]


def test_django_receiver_processes_once_and_rejects_forgeries(hooks, django_client):
    delivery = hooks.opened()
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery.headers.items()}

    def post(body: bytes, headers: dict[str, str]):
        return django_client.post(
            "/webhooks/klaviyo", data=body, content_type="application/json", **headers
        )

    first, again = post(delivery.body, extra), post(delivery.body, extra)
    forged = hooks.opened("EV2", secret="wrong")
    bad_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in forged.headers.items()}
    bad = post(forged.body, bad_headers)
    assert (first.status_code, again.status_code, bad.status_code) == (204, 200, 401)
    assert bad.json() == {"error": "bad_signature"}
    assert hooks.opens() == 1
    assert django_client.get("/webhooks/klaviyo").status_code == 405
    # Over DATA_UPLOAD_MAX_MEMORY_SIZE (the receiver's cap): refused unread, and as too large.
    huge = post(b"x" * 70_000, extra)
    assert huge.status_code == 413
    assert hooks.opens() == 1
