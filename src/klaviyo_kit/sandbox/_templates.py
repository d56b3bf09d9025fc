"""Templates: create (HTML code or drag-and-drop) and get."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._context import as_object, optional_str, require_str
from klaviyo_kit.sandbox._filters import select
from klaviyo_kit.sandbox._jsonapi import (
    Reply,
    SandboxAPIError,
    collection,
    invalid,
    links_self,
    not_found,
)
from klaviyo_kit.sandbox._state import Record, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call

_POINTER = "/data/attributes"
_TIMES = frozenset({"equals", "greater-than", "less-than", "greater-or-equal", "less-or-equal"})
_FILTERS = {  # as the SDK documents get_templates' filter
    "id": frozenset({"equals", "any"}),
    "name": frozenset({"equals", "any", "contains"}),
    "created": _TIMES,
    "updated": _TIMES,
}
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


def _find(call: Call) -> Record:
    record = call.account.templates.get(call.params["id"])
    if record is None:
        raise not_found("template", call.params["id"])
    return record


def get_template(call: Call) -> Reply:
    """GET /api/templates/{id}."""
    record = _find(call)
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def get_templates(call: Call) -> Reply:
    """GET /api/templates (filter on name or id; sort by name, created or updated)."""
    records = select(
        call.account.templates.values(),
        call.query,
        _field,
        filters=_FILTERS,
        time_fields=frozenset({"created", "updated"}),
        sorts=frozenset({"id", "name", "created", "updated"}),
    )
    return collection(
        records,
        lambda r: render(call, r),
        base=call.base,
        path=call.path,
        query=call.query,
        default_size=10,
        max_size=10,
    )


def _field(record: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        if name in {"created", "updated"}:
            return getattr(record, name)
        return record.id if name == "id" else record.attributes.get(name)

    return get


def update_template(call: Call) -> Reply:
    """PATCH /api/templates/{id}."""
    record = _find(call)
    data = call.data("template")
    if data.get("id") != record.id:
        raise SandboxAPIError(
            409,
            "conflict",
            "Conflict.",
            "The id in the body does not match the path.",
            pointer="/data/id",
        )
    raw = call.attributes("template")
    for name in ("name", "html", "text", "amp"):
        if raw.get(name) is not None:
            record.attributes[name] = optional_str(raw, name, _POINTER)
    if raw.get("definition") is not None:
        record.attributes["definition"] = as_object(raw["definition"], f"{_POINTER}/definition")
    record.updated = call.now
    return Reply(200, {"data": render(call, record), "links": links_self(call.base, call.path)})


def delete_template(call: Call) -> Reply:
    """DELETE /api/templates/{id}: 204."""
    del call.account.templates[_find(call).id]
    return Reply(204)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "get_templates": get_templates,
    "update_template": update_template,
    "delete_template": delete_template,
    "create_template": create_template,
    "get_template": get_template,
}
