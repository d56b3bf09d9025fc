"""What every job shares: the protocol engines run, its report, and its recorded status.

A job is a plain object built from a client, a state store and its options. ``run()`` makes one
bounded pass, checkpoints in the store as it goes (so a killed run resumes), and returns a
:class:`JobReport`. ``should_stop`` is polled between units of work (a page, a batch): when it
returns ``True`` the job checkpoints and returns a report with ``complete=False``. Engines (the
in-process runner, Celery, RQ) only call ``run``; jobs never import an engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.infra import StateStore

__all__ = [
    "Job",
    "JobReport",
    "JobStatus",
    "load_status",
    "never_stop",
    "save_status",
    "utcnow",
]


def never_stop() -> bool:
    """The default ``should_stop``: run the pass to its end."""
    return False


@dataclass(frozen=True, slots=True)
class JobReport:
    """The outcome of one pass of a job.

    Attributes:
        job: The job's name.
        started: When the pass started (UTC).
        finished: When it ended (UTC).
        complete: ``False`` if it stopped early (asked to, or by an error) after a checkpoint.
        dry_run: Whether it only reported what it would change.
        counts: What it did, by name (``pulled``, ``pushed``, ``suppressed``, ``exported``, ...).
        errors: One line per failure it kept going past (never a secret).
        watermark: Where the pass left its watermark, if the job keeps one.
    """

    job: str
    started: datetime
    finished: datetime
    complete: bool = True
    dry_run: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    watermark: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the pass completed without errors."""
        return self.complete and not self.errors


@runtime_checkable
class Job(Protocol):
    """One bounded, resumable pass of integration work."""

    @property
    def name(self) -> str:
        """A stable name: the key of the job's checkpoints, lease and status."""

    def run(self, *, should_stop: Callable[[], bool] = never_stop) -> JobReport:
        """Make one pass, checkpointing as it goes, and report what it did."""


@dataclass(frozen=True, slots=True)
class JobStatus:
    """What the store remembers of a job's runs, for health checks.

    Attributes:
        name: The job's name.
        last_run: When the last pass finished.
        last_success: When the last complete, error-free pass finished.
        last_report: The last pass's counts and errors.
        watermark: The job's watermark after its last pass.
    """

    name: str
    last_run: datetime | None = None
    last_success: datetime | None = None
    last_report: Mapping[str, object] = field(default_factory=dict)
    watermark: datetime | None = None


def _status_key(name: str) -> str:
    return f"jobs:{name}:status"


def _time(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def save_status(store: StateStore, report: JobReport) -> JobStatus:
    """Record a finished pass in ``store`` and return the job's new status."""
    previous = load_status(store, report.job)
    success = report.finished if report.ok else previous.last_success
    summary = {
        "complete": report.complete,
        "dry_run": report.dry_run,
        "counts": dict(report.counts),
        "errors": list(report.errors[:20]),
    }
    watermark = report.watermark or previous.watermark
    document = {
        "last_run": report.finished.isoformat(),
        "last_success": success.isoformat() if success else None,
        "last_report": summary,
        "watermark": watermark.isoformat() if watermark else None,
    }
    store.set_cursor(_status_key(report.job), json.dumps(document))
    return load_status(store, report.job)


def load_status(store: StateStore, name: str) -> JobStatus:
    """Return what ``store`` remembers of job ``name`` (empty if it never ran)."""
    text = store.get_cursor(_status_key(name))
    if text is None:
        return JobStatus(name)
    document = json.loads(text)
    return JobStatus(
        name,
        last_run=_time(document.get("last_run")),
        last_success=_time(document.get("last_success")),
        last_report=document.get("last_report") or {},
        watermark=_time(document.get("watermark")),
    )


def utcnow() -> datetime:
    """The current UTC time."""
    return datetime.now(timezone.utc)
