"""Templates: create (HTML code or drag-and-drop) and get."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._context import optional_str, require_str
from klaviyo_kit.sandbox._jsonapi import Reply, invalid, links_self, not_found
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call

_POINTER = "/data/attributes"
_EDITORS = frozenset({"CODE", "SYSTEM_DRAGGABLE", "USER_DRAGGABLE", "SIMPLE"})


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return a template resource object."""
    attrs = record.attributes
    return {
        "type": "template",
        "id": record.id,
        "attributes": {
            "name": attrs["name"],
            "editor_type": attrs["editor_type"],
            "html": attrs.get("html") or "",
            "text": attrs.get("text"),
            "amp": attrs.get("amp"),
            "created": iso(record.created),
            "updated": iso(record.updated),
            "definition": attrs.get("definition"),
        },
        "links": links_self(call.base, f"/api/templates/{record.id}"),
    }


def create_template(call: Call) -> Reply:
    """POST /api/templates."""
    raw = call.attributes("template")
    name = require_str(raw, "name", _POINTER)
    editor = require_str(raw, "editor_type", _POINTER)
    if editor not in _EDITORS:
        raise invalid(f"'{editor}' is not a valid editor_type.", pointer=f"{_POINTER}/editor_type")
    html = optional_str(raw, "html", _POINTER)
    if editor == "CODE" and not html:
        raise invalid("'html' is required for CODE templates.", pointer=f"{_POINTER}/html")
    if editor != "CODE" and not isinstance(raw.get("definition"), dict):
        raise invalid(
            "'definition' is required for drag-and-drop templates.",
            pointer=f"{_POINTER}/definition",
        )
    attrs = {
        "name": name,
        "editor_type": editor,
        "html": html,
        "text": optional_str(raw, "text", _POINTER),
        "amp": optional_str(raw, "amp", _POINTER),
        "definition": raw.get("definition"),
    }
    now = call.now
    record = Record(call.world.ids.short(), attrs, now, now)
    call.account.templates[record.id] = record
    return Reply(201, {"data": render(call, record), "links": links_self(call.base, call.path)})


def get_template(call: Call) -> Reply:
    """GET /api/templates/{id}."""
    record = call.account.templates.get(call.params["id"])
    if record is None:
        raise not_found("template", call.params["id"])
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "create_template": create_template,
    "get_template": get_template,
}
