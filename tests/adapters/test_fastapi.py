from __future__ import annotations

from examples.fastapi_app.app import create_app
from fastapi.testclient import TestClient


def test_fastapi_receiver_processes_once_and_rejects_forgeries(hooks):
    client = TestClient(create_app(hooks.receiver))
    delivery = hooks.opened()
    first = client.post("/webhooks/klaviyo", content=delivery.body, headers=dict(delivery.headers))
    again = client.post("/webhooks/klaviyo", content=delivery.body, headers=dict(delivery.headers))
    forged = hooks.opened("EV2", secret="wrong")
    bad = client.post("/webhooks/klaviyo", content=forged.body, headers=dict(forged.headers))
    assert (first.status_code, again.status_code, bad.status_code) == (204, 200, 401)
    assert bad.json() == {"error": "bad_signature"}
    assert hooks.opens() == 1
    assert client.get("/webhooks/klaviyo").status_code == 405
