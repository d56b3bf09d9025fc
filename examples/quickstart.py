"""klaviyo-kit quickstart: the seed's data flow, end to end.

A user signs up → their profile is upserted → they join a list with email consent → a purchase is
tracked → a campaign is created (and sent) to that list → segment membership is checked.

By default everything runs against the kit's in-process Klaviyo sandbox (real rate limits, no
network). A real account is touched only with ``--live``, after a typed confirmation (or
``--yes``): then the script creates its own, uniquely named list, never reuses one by name, and
leaves the campaign a draft unless ``--send`` is given. With ``KLAVIYO_PRIVATE_KEY`` set and no
``--live``, it refuses before sending any request.

Run: ``python examples/quickstart.py`` (sandbox) or
``python examples/quickstart.py --live [--yes] [--send]`` (your account).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.services import EmailContent

if TYPE_CHECKING:
    from collections.abc import Sequence

    from klaviyo_kit.sandbox import Sandbox

SANDBOX_KEY = "pk_" + "sandbox" * 5
BIG_SPENDER = 100
EMAIL = "ada.lovelace@example.com"
CONFIRMATION = "yes"
LIVE_WRITES = (
    f"upserts the profile {EMAIL}, creates a new list named 'klaviyo-kit quickstart <time> <id>' "
    "and subscribes that profile to it with email consent, tracks a 135 USD 'Placed Order' "
    "event, and creates a template and a draft campaign to that list (sent only with --send)"
)
"""What ``--live`` writes to the account; the README says the same in one sentence."""

EXIT_REFUSED = 2
EXIT_DECLINED = 1


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser.

    Returns:
        A parser for ``--live``, ``--yes`` and ``--send``.
    """
    parser = argparse.ArgumentParser(
        prog="quickstart.py",
        description=(
            "Run klaviyo-kit's main flow against the in-process sandbox, "
            "or against your Klaviyo account with --live."
        ),
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help=f"use the account of KLAVIYO_PRIVATE_KEY; this {LIVE_WRITES}",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help=f"with --live, skip the typed confirmation (typing {CONFIRMATION!r})",
    )
    parser.add_argument(
        "--send",
        action="store_true",
        help="with --live, send the campaign instead of leaving it a draft "
        "(the sandbox demo always sends)",
    )
    return parser


def unique_list_name() -> str:
    """Return a list name no earlier run used: the UTC time plus a random id."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"klaviyo-kit quickstart {stamp} {uuid.uuid4().hex[:8]}"


def confirmed(settings: KlaviyoSettings) -> bool:
    """Explain what live mode writes and read the typed confirmation from stdin.

    Args:
        settings: The live settings (only the base URL is shown; the key never is).

    Returns:
        Whether the user typed the confirmation word; end of input counts as no.
    """
    print(
        f"--live writes to the real Klaviyo account of KLAVIYO_PRIVATE_KEY at "
        f"{settings.base_url}: it {LIVE_WRITES}.\n"
        f"Type {CONFIRMATION!r} to continue: ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    return sys.stdin.readline().strip().lower() == CONFIRMATION


def sandbox_client(stack: ExitStack) -> tuple[KlaviyoClient, Sandbox]:
    """Return a client on a fresh, seeded sandbox that has a 'Big spenders' segment."""
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


def run_flow(client: KlaviyoClient, *, send: bool, sandbox: Sandbox | None) -> None:
    """Run the seed's flow on ``client`` and print each step.

    Args:
        client: An open client, on the sandbox or on a confirmed real account.
        send: Send the campaign; otherwise it is left a draft.
        sandbox: The sandbox behind ``client``, to report what it holds (``None`` when live).
    """
    profile = client.profiles.upsert(
        {
            "email": EMAIL,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "properties": {"signup_source": "quickstart", "lifetime_value": 0},
        }
    )
    step(1, f"signed up {EMAIL}: profile {profile.id}")

    # Always a list of our own: reusing one found by name could mail a real audience.
    audience = client.lists.create(unique_list_name())
    assert audience.id is not None
    submitted = client.lists.subscribe([EMAIL], list_id=audience.id)
    step(
        2,
        f"created list {audience.name!r} ({audience.id}) and subscribed with email consent: "
        f"{submitted.submitted} profile(s) in {submitted.requests} request(s)",
    )

    order = {
        "order_id": "order-1001",
        "profile": EMAIL,
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
    client.profiles.upsert({"email": EMAIL, "properties": {"lifetime_value": 135}})
    step(3, f"tracked 'Placed Order' worth 135 USD (unique_id {tracked.unique_id})")

    campaign = client.campaigns.create(
        "klaviyo-kit quickstart welcome",
        audiences=[audience.id],
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
                "name": "klaviyo-kit quickstart welcome",
                "editor_type": "CODE",
                "html": "<html><body><p>Hello {{ first_name }}!</p></body></html>",
            },
        }
    }
    template: Any = client.sdk.templates.create_template(body)
    client.campaigns.assign_template(campaign.id, template["data"]["id"])
    created = f"created campaign {campaign.id} with template {template['data']['id']}"
    if send:
        job = client.campaigns.send(campaign.id)
        done = client.campaigns.wait_until_sent(campaign.id, first_delay=0.1, timeout=60)
        step(4, f"{created}; send job {job.id}: {job.status} → {done.status}")
    else:
        step(4, f"{created}; left it a draft (pass --send to send it)")

    segments = [s for s in client.segments.iter() if s.name == "Big spenders"]
    if segments and segments[0].id:
        member = client.segments.is_member(segments[0].id, EMAIL)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the flow on the sandbox, or on the real account when ``--live`` is confirmed.

    Args:
        argv: Command-line arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 when the flow ran, 1 when the live confirmation was declined, 2 when
        the settings forbid running (a key without ``--live``, ``--live`` without a key, or an
        invalid ``KLAVIYO_*`` setting). Statuses 1 and 2 are returned before any request.
    """
    args = build_parser().parse_args(argv)
    try:
        settings = KlaviyoSettings()  # the environment and .env, exactly as KlaviyoClient() reads
    except ValidationError as exc:
        print(f"quickstart: invalid KLAVIYO_* setting: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    has_key = settings.private_key is not None
    if has_key and not args.live:
        print(
            "quickstart: KLAVIYO_PRIVATE_KEY is set: refusing to write to a real account "
            "without --live (unset it to run the sandbox demo)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if args.live and not has_key:
        print(
            "quickstart: --live needs KLAVIYO_PRIVATE_KEY (in the environment or .env)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if args.live and not args.yes and not confirmed(settings):
        print("\nquickstart: not confirmed; nothing was sent to Klaviyo", file=sys.stderr)
        return EXIT_DECLINED

    started = time.perf_counter()
    with ExitStack() as stack:
        if args.live:
            client, sandbox = stack.enter_context(KlaviyoClient(settings)), None
            print("klaviyo-kit quickstart against your Klaviyo account\n")
        else:
            client, sandbox = sandbox_client(stack)
            print("klaviyo-kit quickstart against the in-process sandbox\n")
        run_flow(client, send=args.send or not args.live, sandbox=sandbox)
    print(f"\ndone in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
