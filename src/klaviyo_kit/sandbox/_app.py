"""The framework-free request handler: routing, headers, auth, rate limits, handlers, errors."""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl

from klaviyo_kit.operations import all_operations
from klaviyo_kit.sandbox._context import Call
from klaviyo_kit.sandbox._jsonapi import JSON_API, Reply, SandboxAPIError
from klaviyo_kit.sandbox._limits import seconds_header

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.operations import Limits, Operation
    from klaviyo_kit.sandbox._context import World
    from klaviyo_kit.sandbox._limits import WindowCounter

_LOG = logging.getLogger("klaviyo_kit.sandbox")
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.pre)?$")
_KEY = re.compile(r"^Klaviyo-API-Key pk_[A-Za-z0-9_]{6,}$")


class HttpResponse(NamedTuple):
    """A finished HTTP answer; unpacks as ``status, headers, body``.

    Attributes:
        status: The HTTP status code.
        headers: Response headers.
        body: The body bytes (``b""`` when empty).
    """

    status: int
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Router:
    """Klaviyo's path templates, matched segment by segment (literal segments win)."""

    routes: Mapping[tuple[str, ...], Mapping[str, Operation]] = field(default_factory=dict)

    @classmethod
    def from_operations(cls) -> Router:
        """Build the router from the operation table (aliases share their canonical route)."""
        routes: dict[tuple[str, ...], dict[str, Operation]] = {}
        for op in all_operations().values():
            if op.alias_of is None:
                routes.setdefault(tuple(op.path.strip("/").split("/")), {})[op.http_method] = op
        return cls(routes)

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """Return the operation and path parameters for a request.

        Raises:
            SandboxAPIError: 404 for an unknown path, 405 for a known path and another method.
        """
        parts = tuple(path.strip("/").split("/"))
        best: tuple[int, Mapping[str, Operation], dict[str, str]] | None = None
        for template, methods in self.routes.items():
            if len(template) != len(parts):
                continue
            params: dict[str, str] = {}
            literal = 0
            for want, got in zip(template, parts, strict=True):
                if want.startswith("{"):
                    params["id" if want == "{job_id}" else want[1:-1]] = got
                elif want == got:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, methods, params)
        if best is None:
            raise SandboxAPIError(404, "not_found", "Not found.", f"Path {path} was not found.")
        _, methods, params = best
        if method not in methods:
            raise SandboxAPIError(
                405,
                "method_not_allowed",
                "Method not allowed.",
                f'Method "{method}" not allowed.',
                headers={"Allow": ", ".join(sorted(methods))},
            )
        return methods[method], params


def _conditional_limits(op: Operation, query: Mapping[str, str]) -> list[tuple[str, Limits]]:
    extra = []
    for cond in op.conditional:
        name = cond.kwarg
        if name.startswith("additional_fields_"):
            name = f"additional-fields[{name.removeprefix('additional_fields_')}]"
        values = query.get(name, "").split(",")
        # The table says include=list/segment; the API spells the relationships lists/segments.
        if cond.value in values or f"{cond.value}s" in values:
            extra.append((f"{op.bucket}:{cond.kwarg}={cond.value}", cond.limits))
    return extra


def _auth(headers: Mapping[str, str], api_key: str | None) -> None:
    value = headers.get("authorization")
    if not value:
        raise SandboxAPIError(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
        )
    if value.startswith("Bearer ") and len(value) > len("Bearer "):
        return
    given = value.split(" ", 1)[-1]
    if not _KEY.match(value) or (
        api_key is not None and not hmac.compare_digest(given.encode(), api_key.encode())
    ):
        raise SandboxAPIError(
            401,
            "authentication_failed",
            "Incorrect authentication credentials.",
            "Incorrect authentication credentials.",
        )


def _revision(headers: Mapping[str, str]) -> None:
    value = headers.get("revision")
    if not value:
        raise SandboxAPIError(
            400,
            "invalid",
            "Invalid input.",
            "The 'revision' header is required.",
            parameter="revision",
        )
    if not _REVISION.match(value):
        raise SandboxAPIError(
            400,
            "invalid",
            "Invalid input.",
            f"Invalid revision {value!r}: the revision passed in must be a valid revision.",
            parameter="revision",
        )


def encode(reply: Reply, extra: Mapping[str, str] | None = None) -> HttpResponse:
    """Serialize a reply as JSON:API bytes."""
    headers = {**dict(extra or {}), **dict(reply.headers)}
    if reply.document is None:
        return HttpResponse(reply.status, headers)
    headers["Content-Type"] = JSON_API
    return HttpResponse(reply.status, headers, json.dumps(reply.document).encode())


class App:
    """Routes a request to its handler behind Klaviyo's header, auth and rate-limit checks."""

    def __init__(
        self,
        world: World,
        handlers: Mapping[str, Callable[[Call], Reply]],
        counter: WindowCounter | None,
        *,
        api_key: str | None = None,
        time_scale: float = 1.0,
    ) -> None:
        """Serve ``handlers`` (by operation name) over ``world``."""
        self.world = world
        self.handlers = handlers
        self.counter = counter
        self.api_key = api_key
        self.time_scale = time_scale
        self.router = Router.from_operations()

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        base: str,
    ) -> HttpResponse:
        """Answer one request; ``headers`` may use any case, ``base`` is ``scheme://host``."""
        lower = {k.lower(): v for k, v in headers.items()}
        params = dict(parse_qsl(query, keep_blank_values=True))
        rate_headers: dict[str, str] = {}
        try:
            op, path_params = self.router.match(method.upper(), path)
            _auth(lower, self.api_key)
            _revision(lower)
            rate_headers = self._count(op, params)
            handler = self._handler(op)
            call = Call(self.world, method.upper(), path, path_params, params, lower, body, base)
            reply = handler(call)
        except SandboxAPIError as error:
            reply = error.reply()
        except Exception:  # noqa: BLE001 - answer like a server would, and log the bug
            _LOG.exception("sandbox handler failed on %s %s", method, path)
            reply = SandboxAPIError(
                500, "error", "A server error occurred.", "A server error occurred."
            ).reply()
        return encode(reply, rate_headers)

    def _handler(self, op: Operation) -> Callable[[Call], Reply]:
        handler = self.handlers.get(op.canonical_name)
        if handler is None:
            raise SandboxAPIError(
                501,
                "not_implemented",
                "Not implemented.",
                f"The Klaviyo sandbox does not implement {op.name} ({op.http_method} {op.path}).",
            )
        return handler

    def _count(self, op: Operation, query: Mapping[str, str]) -> dict[str, str]:
        if self.counter is None:
            return {}
        verdicts = [self.counter.take(op.bucket, op.limits)]
        verdicts += [self.counter.take(b, lim) for b, lim in _conditional_limits(op, query)]
        denied = [v for v in verdicts if not v.allowed]
        if denied:
            wait = max(v.retry_after for v in denied)
            header = seconds_header(wait, self.time_scale)
            raise SandboxAPIError(
                429,
                "throttled",
                "Request was throttled.",
                f"Request was throttled. Expected available in {header} second"
                f"{'' if header == '1' else 's'}.",
                pointer="/data",
                headers={"Retry-After": header},
            )
        first = verdicts[0]
        return {
            "RateLimit-Limit": str(first.limit),
            "RateLimit-Remaining": str(first.remaining),
            "RateLimit-Reset": seconds_header(first.reset, self.time_scale),
        }
