"""klaviyo-kit quickstart: the seed's data flow, end to end.

A user signs up → their profile is upserted → they join the newsletter with email consent → a
purchase is tracked → a campaign is created and sent to the newsletter → segment membership is
checked. With no ``KLAVIYO_PRIVATE_KEY`` in the environment, everything runs against the kit's
in-process Klaviyo sandbox (real rate limits, no network); with a key, against your account.

Run: ``python examples/quickstart.py``
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from typing import Any

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.services import EmailContent

SANDBOX_KEY = "pk_" + "sandbox" * 5
BIG_SPENDER = 100


def open_client(stack: ExitStack) -> tuple[KlaviyoClient, Any]:
    """Return a client for the real account if a key is set, else one on a fresh sandbox."""
    if os.environ.get("KLAVIYO_PRIVATE_KEY"):
        return stack.enter_context(KlaviyoClient()), None
    from klaviyo_kit.sandbox import Sandbox

    sandbox = Sandbox(seed=42)
    sandbox.add_segment(
        "Big spenders",
        where=lambda p: float(p.get("properties", {}).get("lifetime_value", 0)) >= BIG_SPENDER,
    )
    client = KlaviyoClient(KlaviyoSettings(private_key=SANDBOX_KEY), transport=sandbox.transport())
    return stack.enter_context(client), sandbox


def step(number: int, text: str) -> None:
    """Print one line of the story."""
    print(f"{number}. {text}")


def main() -> int:
    """Run the flow and print what happened; return the exit status."""
    started = time.perf_counter()
    with ExitStack() as stack:
        client, sandbox = open_client(stack)
        where = "the in-process sandbox" if sandbox is not None else "your Klaviyo account"
        print(f"klaviyo-kit quickstart against {where}\n")

        email = "ada.lovelace@example.com"
        profile = client.profiles.upsert(
            {
                "email": email,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "properties": {"signup_source": "quickstart", "lifetime_value": 0},
            }
        )
        step(1, f"signed up {email}: profile {profile.id}")

        newsletter = client.lists.find_by_name("Newsletter") or client.lists.create("Newsletter")
        assert newsletter.id is not None
        submitted = client.lists.subscribe([email], list_id=newsletter.id)
        step(
            2,
            f"subscribed to list {newsletter.name!r} ({newsletter.id}) with email consent: "
            f"{submitted.submitted} profile(s) in {submitted.requests} request(s)",
        )

        order = {
            "order_id": "order-1001",
            "profile": email,
            "items": [
                {
                    "product_id": "sku-1",
                    "name": "Analytical Engine manual",
                    "quantity": 1,
                    "price": 120,
                },
                {"product_id": "sku-2", "name": "Punch cards", "quantity": 3, "price": 5},
            ],
            "currency": "USD",
        }
        tracked = client.events.track_purchase(order)
        client.events.track_purchase(order)  # a retry of the same order is not counted twice
        client.profiles.upsert({"email": email, "properties": {"lifetime_value": 135}})
        step(3, f"tracked 'Placed Order' worth 135 USD (unique_id {tracked.unique_id})")

        campaign = client.campaigns.create(
            "Welcome to the newsletter",
            audiences=[newsletter.id],
            content=EmailContent(
                subject="Welcome, Ada",
                preview_text="Thanks for joining",
                from_email="hello@example.com",
                from_label="The Example Shop",
            ),
        )
        assert campaign.id is not None
        # No service wraps templates yet: any SDK operation is one call away, same pipeline.
        # The SDK accepts the JSON:API body as a dict (it validates it into its own model).
        body: Any = {
            "data": {
                "type": "template",
                "attributes": {
                    "name": "Welcome",
                    "editor_type": "CODE",
                    "html": "<html><body><p>Hello {{ first_name }}!</p></body></html>",
                },
            }
        }
        template: Any = client.sdk.templates.create_template(body)
        client.campaigns.assign_template(campaign.id, template["data"]["id"])
        job = client.campaigns.send(campaign.id)
        done = client.campaigns.wait_until_sent(campaign.id, first_delay=0.1, timeout=60)
        step(
            4,
            f"created campaign {campaign.id} with template {template['data']['id']}; "
            f"send job {job.id}: {job.status} → {done.status}",
        )

        segments = [s for s in client.segments.iter() if s.name == "Big spenders"]
        if segments and segments[0].id:
            member = client.segments.is_member(segments[0].id, email)
            step(5, f"member of segment 'Big spenders': {member}")
        else:
            step(5, "no 'Big spenders' segment in this account; skipped the membership check")

        if sandbox is not None:
            events = len(sandbox.account.events)
            step(
                6,
                f"the sandbox now holds {len(sandbox.account.profiles)} profile(s) "
                f"and {events} event(s)",
            )
    print(f"\ndone in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
