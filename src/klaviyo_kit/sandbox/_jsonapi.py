"""JSON:API building blocks: replies, errors, resource objects and cursor pagination."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

JSON_API = "application/vnd.api+json"


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers: a status, a JSON document (or none) and extra headers."""

    status: int
    document: object = None
    headers: Mapping[str, str] = field(default_factory=dict)


class SandboxAPIError(Exception):
    """Raised inside handlers to answer with a JSON:API error document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        meta: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Describe one error entry."""
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.meta = dict(meta or {})
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        """Return the error as a JSON:API reply."""
        source: dict[str, str] = {}
        if self.pointer is not None:
            source["pointer"] = self.pointer
        if self.parameter is not None:
            source["parameter"] = self.parameter
        entry = {
            "id": str(uuid.uuid4()),
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "source": source,
            "links": {},
            "meta": self.meta,
        }
        return Reply(self.status, {"errors": [entry]}, self.headers)


def invalid(
    detail: str, *, pointer: str | None = None, parameter: str | None = None
) -> SandboxAPIError:
    """Return Klaviyo's 400 ``invalid`` error for a bad field or parameter."""
    return SandboxAPIError(
        400, "invalid", "Invalid input.", detail, pointer=pointer, parameter=parameter
    )


def not_found(kind: str, ident: str) -> SandboxAPIError:
    """Return Klaviyo's 404 for a missing resource."""
    return SandboxAPIError(
        404, "not_found", "Not found.", f"A {kind} with id {ident} does not exist."
    )


def links_self(base: str, path: str) -> dict[str, str]:
    """Return an ``ObjectLinks`` value."""
    return {"self": f"{base}{path}"}


def relationship(base: str, path: str, name: str, data: object) -> dict[str, object]:
    """Return a relationship entry with ``data`` and ``RelationshipLinks``."""
    return {
        "data": data,
        "links": {
            "self": f"{base}{path}/relationships/{name}",
            "related": f"{base}{path}/{name}",
        },
    }


def encode_cursor(offset: int) -> str:
    """Return an opaque cursor for a collection offset."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the offset a cursor stands for.

    The official SDK forwards a whole ``links.next`` URL when it is not ``https://`` and
    keeps the ``=`` of ``page[cursor]=`` when it is, so both forms are accepted.

    Raises:
        SandboxAPIError: 400 when the cursor is not one this sandbox issued.
    """
    if "?" in cursor:
        found = parse_qs(urlsplit(cursor).query).get("page[cursor]")
        cursor = found[0] if found else ""
    cursor = cursor.lstrip("=")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    kind, _, number = raw.partition(":")
    if kind != "o" or not number.isdigit():
        raise invalid("Invalid page cursor.", parameter="page[cursor]")
    return int(number)


def page_size(query: Mapping[str, str], default: int, maximum: int) -> int:
    """Read and check ``page[size]``."""
    raw = query.get("page[size]")
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= maximum:
        raise invalid(
            f"page[size] must be an integer between 1 and {maximum}.", parameter="page[size]"
        )
    return size


@dataclass(frozen=True, slots=True)
class Page:
    """A page cut from an ordered collection, with its ``CollectionLinks``."""

    items: Sequence[Any]
    links: Mapping[str, str]


def paginate(
    items: Sequence[Any],
    *,
    base: str,
    path: str,
    query: Mapping[str, str],
    default_size: int,
    max_size: int,
) -> Page:
    """Cut one page of ``items`` using ``page[cursor]``/``page[size]`` and build its links."""
    size = page_size(query, default_size, max_size)
    cursor = query.get("page[cursor]")
    offset = decode_cursor(cursor) if cursor else 0
    chosen = items[offset : offset + size]
    kept = {k: v for k, v in query.items() if k != "page[cursor]"}

    def link(at: int | None) -> str:
        params = dict(kept)
        if at is not None:
            params["page[cursor]"] = encode_cursor(at)
        suffix = urlencode(params, safe="[],()\"'")
        return f"{base}{path}" + (f"?{suffix}" if suffix else "")

    links: dict[str, str] = {"self": link(offset or None)}
    if offset + size < len(items):
        links["next"] = link(offset + size)
    if offset > 0:
        links["prev"] = link(max(0, offset - size))
    return Page(chosen, links)


def collection(
    items: Sequence[Any],
    render: Callable[[Any], object],
    *,
    base: str,
    path: str,
    query: Mapping[str, str],
    default_size: int = 20,
    max_size: int = 100,
) -> Reply:
    """Return a paginated collection document of rendered resources."""
    page = paginate(
        items, base=base, path=path, query=query, default_size=default_size, max_size=max_size
    )
    return Reply(200, {"data": [render(item) for item in page.items], "links": dict(page.links)})
