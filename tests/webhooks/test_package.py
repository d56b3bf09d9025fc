from __future__ import annotations

import subprocess
import sys

import klaviyo_kit.webhooks
import klaviyo_kit.webhooks.handlers
from klaviyo_kit.webhooks import WebhookRouter, WebhookVerifier, sign_webhook


def test_all_lists_every_public_name():
    for module in (klaviyo_kit.webhooks, klaviyo_kit.webhooks.handlers):
        # isidentifier(): pytest's assertion rewriting (klaviyo_kit is a pytest plugin's
        # distribution) adds "@py_builtins" and "@pytest_ar" to the package's namespace.
        public = {n for n in vars(module) if n.isidentifier() and not n.startswith("_")} - {
            "annotations",
            "importlib",
            "TYPE_CHECKING",
        }
        # Submodules are reachable as attributes; they are not re-exported names.
        public -= {"handlers", "campaign_events", "list_events", "profile_events"}
        assert public <= set(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_public_classes_claim_the_package_as_their_module():
    assert WebhookVerifier.__module__ == "klaviyo_kit.webhooks"
    assert sign_webhook.__module__ == "klaviyo_kit.webhooks"
    repository = klaviyo_kit.webhooks.handlers.SQLWebhookRepository
    assert repository.__module__ == "klaviyo_kit.webhooks.handlers"


def test_importing_webhooks_pulls_in_no_framework_sdk_or_database():
    code = (
        "import sys, klaviyo_kit.webhooks, klaviyo_kit.webhooks.handlers;"
        "bad = {'fastapi', 'flask', 'django', 'starlette', 'klaviyo_api', 'openapi_client',"
        " 'sqlalchemy', 'uvicorn'} & set(sys.modules); print(sorted(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_router_without_a_ledger_dedupes_in_memory(tmp_path):
    from klaviyo_kit.webhooks import build_delivery

    router = WebhookRouter()
    seen: list[str] = []
    router.add("*", lambda event: seen.append(event.external_id))
    body = build_delivery([{"topic": "t", "external_id": "E1", "payload": {}}], webhook_id="W")
    signed = sign_webhook(body, secret="s")
    delivery = WebhookVerifier("s").verify(signed.body, signed.headers)
    router.dispatch(delivery)
    router.dispatch(delivery)
    assert seen == ["E1"]
