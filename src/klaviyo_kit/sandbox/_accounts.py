"""Accounts: the one account the sandbox models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._jsonapi import Reply, collection, links_self, not_found

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call


def render(call: Call) -> dict[str, Any]:
    """Return the account resource object."""
    account_id = call.account.id
    return {
        "type": "account",
        "id": account_id,
        "attributes": {
            "test_account": True,
            "contact_information": {
                "default_sender_name": "Klaviyo Kit Sandbox",
                "default_sender_email": "sandbox@example.com",
                "website_url": "https://example.com",
                "organization_name": "Klaviyo Kit Sandbox",
                "street_address": {
                    "address1": "1 Sandbox Way",
                    "address2": None,
                    "city": "Boston",
                    "region": "MA",
                    "country": "US",
                    "zip": "02110",
                },
            },
            "industry": "Software",
            "timezone": "UTC",
            "preferred_currency": "USD",
            "public_api_key": account_id,
            "locale": "en-US",
        },
        "links": links_self(call.base, f"/api/accounts/{account_id}"),
    }


def get_accounts(call: Call) -> Reply:
    """GET /api/accounts."""
    return collection(
        [call.account.id],
        lambda _id: render(call),
        base=call.base,
        path=call.path,
        query=call.query,
    )


def get_account(call: Call) -> Reply:
    """GET /api/accounts/{id}."""
    if call.params["id"] != call.account.id:
        raise not_found("account", call.params["id"])
    return Reply(200, {"data": render(call), "links": links_self(call.base, call.path)})


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_accounts": get_accounts,
    "get_account": get_account,
}
