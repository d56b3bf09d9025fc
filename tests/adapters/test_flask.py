from __future__ import annotations

from examples.flask_app.app import create_app


def test_flask_receiver_processes_once_and_rejects_forgeries(hooks):
    client = create_app(hooks.receiver).test_client()
    delivery = hooks.opened()
    first = client.post("/webhooks/klaviyo", data=delivery.body, headers=dict(delivery.headers))
    again = client.post("/webhooks/klaviyo", data=delivery.body, headers=dict(delivery.headers))
    forged = hooks.opened("EV2", secret="wrong")
    bad = client.post("/webhooks/klaviyo", data=forged.body, headers=dict(forged.headers))
    assert (first.status_code, again.status_code, bad.status_code) == (204, 200, 401)
    assert bad.get_json() == {"error": "bad_signature"}
    assert hooks.opens() == 1
    huge = client.post("/webhooks/klaviyo", data=b"x" * 70_000, headers=dict(delivery.headers))
    assert huge.status_code == 413
