"""Canned answers for injected faults: JSON:API server errors and Cloudflare HTML pages."""

from __future__ import annotations

import json
import uuid

from klaviyo_kit.sandbox._app import HttpResponse
from klaviyo_kit.sandbox._jsonapi import JSON_API

_JSON_ERRORS = {
    429: (
        "throttled",
        "Request was throttled.",
        "Request was throttled. Expected available in 1 second.",
    ),
    500: ("error", "A server error occurred.", "A server error occurred."),
    503: ("service_unavailable", "Service unavailable.", "Service temporarily unavailable."),
}
_HTML_TITLES = {
    403: "Just a moment...",
    502: "502 Bad Gateway",
    504: "504 Gateway Time-out",
    524: "a.klaviyo.com | 524: A timeout occurred",
}


def fault_response(status: int) -> HttpResponse:
    """Return what Klaviyo (or Cloudflare in front of it) answers with for a failing status."""
    if status in _JSON_ERRORS:
        code, title, detail = _JSON_ERRORS[status]
        entry = {
            "id": str(uuid.uuid4()),
            "status": status,
            "code": code,
            "title": title,
            "detail": detail,
            "source": {"pointer": "/data"},
            "links": {},
            "meta": {},
        }
        headers = {"Content-Type": JSON_API}
        if status == 429:  # noqa: PLR2004
            headers["Retry-After"] = "1"
        return HttpResponse(status, headers, json.dumps({"errors": [entry]}).encode())
    title = _HTML_TITLES[status]
    body = (
        f'<!DOCTYPE html><html lang="en-US"><head><title>{title}</title></head>'
        f"<body><h1>{title}</h1><p>Cloudflare Ray ID: {uuid.uuid4().hex[:16]}</p></body></html>"
    )
    headers = {"Content-Type": "text/html; charset=UTF-8", "Server": "cloudflare"}
    if status == 403:  # noqa: PLR2004
        headers["cf-mitigated"] = "challenge"
    return HttpResponse(status, headers, body.encode())
