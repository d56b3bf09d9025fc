"""Chunking for Klaviyo's bulk endpoints, and what a chunked submission reports."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["BulkSubmission", "chunked"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BulkSubmission:
    """What a chunked bulk call sent to Klaviyo.

    Attributes:
        submitted: Items sent (profiles, emails, profile ids).
        requests: Requests made; one per chunk.
        job_ids: Ids of the asynchronous jobs Klaviyo started, when it returns them
            (suppression jobs do; subscription jobs and list membership changes do not).
    """

    submitted: int
    requests: int
    job_ids: tuple[str, ...] = ()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of at most ``size`` items, reading ``items`` lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
