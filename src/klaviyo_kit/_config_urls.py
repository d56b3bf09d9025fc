"""Credentials in URL settings: masked wherever a setting is shown, intact where it is used.

A URL setting (``redis://:password@host``, ``postgresql://user:password@host/db``,
``https://token@proxy``) holds a secret the way an API key does, but the code that connects needs
the whole URL as a plain string. So the value stays a ``str`` on the model, and every way of
*showing* a settings object masks it: ``repr``/``str`` (and the log lines built from them),
``model_dump`` and ``model_dump_json``, and the messages of configuration errors.

Example:
    >>> mask_url("redis://:hunter2@cache.internal:6379/0")
    'redis://:***@cache.internal:6379/0'
    >>> mask_url("postgresql://app:hunter2@db/app?sslmode=require&password=hunter2")
    'postgresql://app:***@db/app?sslmode=require&password=***'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Final

from pydantic import PlainSerializer

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["MaskedUrl", "is_masked", "mask_url"]

MASK: Final = "***"
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# Query parameters that carry a credential: redis-py reads ``?password=``, libpq ``?password=`` and
# ``?sslpassword=``, and HTTP services put tokens and keys there.
_SECRET_PARAM: Final = re.compile(
    r"(?P<name>(?:^|[&;])[^=&;]*(?:pass|pwd|secret|token|key|auth|credential|signature)[^=&;]*)"
    r"=[^&;]*",
    re.IGNORECASE,
)


def mask_url(url: str) -> str:
    """Return ``url`` with every credential in it replaced by ``***``.

    The userinfo is split where :func:`urllib.parse.urlsplit` (and so redis-py, SQLAlchemy and
    httpx) split it: a password becomes ``user:***@``; a user name without a password (often a
    token) becomes ``***@``. Query parameters whose names suggest a credential (``password``,
    ``token``, ``api_key``, …) keep their name and lose their value. Nothing else changes, and a URL
    too malformed to parse is masked as far as it can be, never raised about.

    Args:
        url: Any URL, with or without credentials.

    Returns:
        The URL, safe to print.
    """
    head, slashes, rest = url.partition("//")
    if slashes and (not head or _SCHEME.fullmatch(head)):
        end = next((i for i, char in enumerate(rest) if char in "/?#"), len(rest))
        netloc, tail = rest[:end], rest[end:]
        userinfo, at, host = netloc.rpartition("@")
        if at:
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
        url = f"{head}//{netloc}{tail}"
    before_fragment, hash_, fragment = url.partition("#")
    base, question, query = before_fragment.partition("?")
    if question:
        query = _SECRET_PARAM.sub(lambda m: f"{m.group('name')}={MASK}", query)
    return f"{base}{question}{query}{hash_}{fragment}"


class _Masked:
    """Marks a field whose value is a URL to show only through :func:`mask_url`."""

    def __repr__(self) -> str:
        return "masked"


_MASKED: Final = _Masked()

MaskedUrl = Annotated[str, _MASKED, PlainSerializer(mask_url, return_type=str)]
"""A URL setting: a plain ``str`` to the code that connects, masked in every dump and ``repr``."""


def is_masked(field: FieldInfo) -> bool:
    """Return whether ``field`` is a :data:`MaskedUrl` (so ``repr`` must mask it too)."""
    return any(item is _MASKED for item in field.metadata)
