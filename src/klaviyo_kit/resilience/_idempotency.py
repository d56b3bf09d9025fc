"""Which Klaviyo calls may be sent twice without doing twice the work."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from klaviyo_kit.operations import Operation

__all__ = ["is_idempotent"]

_IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

_IDEMPOTENT_POSTS: Final = frozenset(
    {
        # Upserts keyed by an identifier: a repeat leaves the same state.
        "create_or_update_profile",
        "bulk_import_profiles",
        "bulk_update_catalog_items",
        "bulk_update_catalog_variants",
        "bulk_update_catalog_categories",
        # State changes that a repeat does not change further.
        "bulk_subscribe_profiles",
        "bulk_unsubscribe_profiles",
        "bulk_suppress_profiles",
        "bulk_unsuppress_profiles",
        "bulk_delete_catalog_items",
        "bulk_delete_catalog_variants",
        "bulk_delete_catalog_categories",
        "bulk_delete_object_records",
        "request_profile_deletion",
        "assign_template_to_campaign_message",
        "refresh_campaign_recipient_estimation",
        # Reads sent as POST.
        "query_campaign_values",
        "query_flow_series",
        "query_flow_values",
        "query_form_series",
        "query_form_values",
        "query_metric_aggregates",
        "query_segment_series",
        "query_segment_values",
        "render_template",
    }
)

_EVENT_POSTS: Final = frozenset({"create_event", "bulk_create_events"})


def is_idempotent(
    operation: Operation, args: tuple[object, ...] = (), kwargs: Mapping[str, object] | None = None
) -> bool:
    """Return whether repeating this call is safe (a retry cannot duplicate its effect).

    Reads, ``PUT``/``PATCH``/``DELETE``, relationship changes (``/relationships/`` paths), upserts
    such as ``create_or_update_profile`` and ``bulk_import_profiles``, subscription and
    suppression changes, and reports sent as ``POST`` are idempotent. ``create_event`` and
    ``bulk_create_events`` are idempotent only when every event in the body carries a
    ``unique_id``, which Klaviyo uses to drop duplicates. Plain creates (``create_profile``,
    ``create_list``, ``create_campaign``, ``send_campaign``, …) are not.

    Args:
        operation: The SDK operation.
        args: The positional arguments of the SDK call.
        kwargs: The keyword arguments of the SDK call.

    Returns:
        ``True`` when the call may be retried after a 5xx or a timeout.

    Example:
        >>> from klaviyo_kit.operations import operation
        >>> event = {"data": {"type": "event", "attributes": {"unique_id": "order-1"}}}
        >>> is_idempotent(operation("create_event"), (event,))
        True
        >>> is_idempotent(operation("create_profile"))
        False
    """
    if operation.http_method in _IDEMPOTENT_METHODS or "/relationships/" in operation.path:
        return True
    name = operation.canonical_name
    if name in _IDEMPOTENT_POSTS:
        return True
    if name in _EVENT_POSTS:
        body = _body(args, kwargs or {})
        events = list(_events(body))
        return bool(events) and all(_has_unique_id(event) for event in events)
    return False


def _body(args: tuple[object, ...], kwargs: Mapping[str, object]) -> object:
    candidates = [*args, *(v for k, v in kwargs.items() if not k.startswith("_"))]
    for candidate in candidates:
        plain = _plain(candidate)
        if isinstance(plain, dict):
            return plain
    return None


def _plain(value: object) -> object:
    if isinstance(value, bytes):  # a document the kit encoded (sent as is)
        try:
            return json.loads(value)
        except ValueError:
            return None
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, dict):
        return to_dict()
    return value


def _events(node: object) -> Iterator[Mapping[str, object]]:
    if isinstance(node, dict):
        if node.get("type") == "event" and isinstance(node.get("attributes"), dict):
            yield node["attributes"]
            return
        for value in node.values():
            yield from _events(value)
    elif isinstance(node, list):
        for item in node:
            yield from _events(item)


def _has_unique_id(attributes: Mapping[str, object]) -> bool:
    unique_id = attributes.get("unique_id")
    return isinstance(unique_id, str) and bool(unique_id.strip())
