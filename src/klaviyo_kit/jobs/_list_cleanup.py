"""``ListCleanupJob``: suppress, unsubscribe or remove a list's long-unengaged members.

A pass has two phases. The *scan* reads the list's members page by page (with the day each
joined), spares those who joined less than ``days`` ago, skips those already handled, and asks
the :class:`~klaviyo_kit.jobs.EngagementSource` which of the rest engaged in the last ``days``;
the others are the targets. The *action* then treats the targets in Klaviyo's largest batches
(100 addresses to suppress or unsubscribe, 1,000 ids to remove from the list).

Safety, in order: a dry run (the default) only reports; a real run refuses to act on more than
``max_share`` of the list unless ``force=True``; every profile acted on gets an audit entry with
its reason and a marker in the store, so a second run skips it. The scan and the action
checkpoint in the store after every page and every batch, so a stopped pass resumes where it
left off, with the same cutoff time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final, Literal, get_args

from klaviyo_kit.errors import KlaviyoError
from klaviyo_kit.infra import AuditEntry
from klaviyo_kit.jobs._engagement import (
    DEFAULT_ENGAGEMENT_METRICS,
    EngagementSource,
    KlaviyoEngagementSource,
    _FunctionSource,
)
from klaviyo_kit.jobs._job import JobReport, never_stop, utcnow
from klaviyo_kit.sdk.types import Document, JsonDict, Profile
from klaviyo_kit.services.filters import any_

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from klaviyo_kit.client import KlaviyoClient
    from klaviyo_kit.infra import JSONValue, StateStore
    from klaviyo_kit.jobs._engagement import EngagementFunction

__all__ = ["CleanupAction", "CleanupPlan", "CleanupTarget", "ListCleanupJob"]

_log = logging.getLogger("klaviyo_kit")

CleanupAction = Literal["suppress", "unsubscribe", "remove"]
"""What happens to an unengaged member: email suppression, unsubscription from the list, or
removal from the list (consent unchanged)."""

BATCH_SIZES: Final[dict[str, int]] = {"suppress": 100, "unsubscribe": 100, "remove": 1000}
"""Klaviyo's per-request limit for each action (KLAVIYO.md, bulk endpoints)."""
MEMBER_PAGE: Final = 100
"""Klaviyo's largest page of list members."""
CHECKPOINT_TTL: Final = timedelta(days=1)
"""A pass left unfinished for longer is started afresh (its markers still skip the acted)."""


@dataclass(frozen=True, slots=True)
class CleanupTarget:
    """A member the job acts on (or would, in a dry run).

    Attributes:
        profile_id: The Klaviyo profile id.
        email: The profile's email address (``None`` if it has none).
        joined_at: When the profile joined the list.
        reason: Why it is a target, as written to the audit log.
    """

    profile_id: str
    email: str | None
    joined_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class CleanupPlan:
    """The outcome of a pass's scan: who is unengaged, and how the list splits.

    Attributes:
        list_id: The list scanned.
        action: The action the targets get.
        as_of: The pass's reference time; the windows end here.
        since: ``as_of - days``: engagement after it counts, members who joined after it are new.
        members: Members seen.
        spared_new: Members who joined after ``since`` (never targets).
        engaged: Older members who engaged since ``since``.
        skipped: Older members already handled (suppressed, unsubscribed, acted on by an
            earlier pass) or that the action cannot reach (no email address to suppress).
        targets: The unengaged members, in list order.
    """

    list_id: str
    action: CleanupAction
    as_of: datetime
    since: datetime
    members: int
    spared_new: int
    engaged: int
    skipped: int
    targets: tuple[CleanupTarget, ...]

    @property
    def unengaged(self) -> int:
        """How many targets there are."""
        return len(self.targets)

    @property
    def share(self) -> float:
        """The targets' share of the list's members (0.0 for an empty list)."""
        return len(self.targets) / self.members if self.members else 0.0


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _joined(profile: Profile) -> datetime | None:
    raw = getattr(profile, "joined_group_at", None)
    if not isinstance(raw, str):
        return None
    when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _email_marketing(profile: Profile) -> dict[str, JSONValue]:
    email = (profile.subscriptions or {}).get("email")
    marketing = email.get("marketing") if isinstance(email, dict) else None
    return marketing if isinstance(marketing, dict) else {}


class _Checkpoint:
    """The pass in progress, kept in the store as JSON under one cursor."""

    def __init__(self, document: dict[str, JSONValue]) -> None:
        self.doc = document

    @classmethod
    def fresh(cls, fingerprint: dict[str, JSONValue], as_of: datetime) -> _Checkpoint:
        return cls(
            {
                "fingerprint": fingerprint,
                "as_of": as_of.isoformat(),
                "cursor": None,
                "scanned": False,
                "counts": {"members": 0, "spared_new": 0, "engaged": 0, "skipped": 0, "acted": 0},
                "targets": [],
            }
        )

    @property
    def counts(self) -> dict[str, int]:
        raw = self.doc["counts"]
        return {k: int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}  # type: ignore[arg-type]

    def add(self, name: str, amount: int) -> None:
        counts = self.counts
        counts[name] = counts.get(name, 0) + amount
        self.doc["counts"] = dict(counts)

    @property
    def targets(self) -> list[CleanupTarget]:
        rows = self.doc["targets"]
        assert isinstance(rows, list)  # noqa: S101 - written by this module only
        return [
            CleanupTarget(str(r[0]), None if r[1] is None else str(r[1]), _iso(r[2]), str(r[3]))
            for r in rows
            if isinstance(r, list)
        ]

    def add_targets(self, targets: Iterable[CleanupTarget]) -> None:
        rows = self.doc["targets"]
        assert isinstance(rows, list)  # noqa: S101 - written by this module only
        rows.extend([t.profile_id, t.email, t.joined_at.isoformat(), t.reason] for t in targets)


def _iso(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


class ListCleanupJob:
    """Suppress (or unsubscribe, or remove) a list's members who stopped engaging.

    A target is a member who has been in the list for at least ``days`` days and had no event
    of ``metrics`` in the last ``days`` days. New members are spared; members already suppressed
    (or unsubscribed, for that action) or acted on by an earlier pass are skipped.

    Args:
        client: The Klaviyo client.
        store: Where checkpoints, per-profile markers and the audit log are kept.
        list_id: The list to clean.
        action: ``suppress`` (the default), ``unsubscribe`` (from this list) or ``remove``
            (from this list, consent unchanged).
        days: The length of both windows: no engagement for this long, and in the list for at
            least this long.
        metrics: Metric names that count as engagement.
        source: Who engaged: an :class:`~klaviyo_kit.jobs.EngagementSource` or a plain
            function ``(profile_ids, metrics, since) -> ids``; ``None`` asks Klaviyo's events
            API (:class:`~klaviyo_kit.jobs.KlaviyoEngagementSource`).
        dry_run: Only report (the default); pass ``False`` to act.
        max_share: Refuse to act when the targets are more than this share of the list.
        force: Act even above ``max_share``.
        name: The job's name (key of its checkpoint and markers); default
            ``list-cleanup:<list_id>:<action>``.
        clock: The current UTC time; inject a fixed one in tests.

    Raises:
        ValueError: For an unknown action, an empty list id or metrics, ``days < 1`` or a
            ``max_share`` outside ``(0, 1]``.

    Example:
        ```python
        job = ListCleanupJob(client, store, list_id, days=120)
        preview = job.run()  # dry run: counts only; job.last_plan.targets has the names
        report = ListCleanupJob(client, store, list_id, days=120, dry_run=False).run()
        ```
    """

    def __init__(
        self,
        client: KlaviyoClient,
        store: StateStore,
        list_id: str,
        *,
        action: CleanupAction = "suppress",
        days: int = 90,
        metrics: Sequence[str] = DEFAULT_ENGAGEMENT_METRICS,
        source: EngagementSource | EngagementFunction | None = None,
        dry_run: bool = True,
        max_share: float = 0.2,
        force: bool = False,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Configure the job; nothing is read until :meth:`run`."""
        if action not in get_args(CleanupAction):
            msg = f"action must be suppress, unsubscribe or remove, not {action!r}"
            raise ValueError(msg)
        if not list_id.strip():
            msg = "list_id must be a non-empty Klaviyo list id"
            raise ValueError(msg)
        if isinstance(metrics, str) or not metrics:
            msg = f"metrics must be a non-empty sequence of metric names, not {metrics!r}"
            raise ValueError(msg)
        if days < 1:
            msg = f"days must be at least 1, got {days}"
            raise ValueError(msg)
        if not 0 < max_share <= 1:
            msg = f"max_share must be in (0, 1], got {max_share}"
            raise ValueError(msg)
        self._client = client
        self._store = store
        self.list_id = list_id.strip()
        self.action: CleanupAction = action
        self.days = days
        self.metrics = tuple(metrics)
        if source is None:
            self._source: EngagementSource = KlaviyoEngagementSource(client)
        elif isinstance(source, EngagementSource):
            self._source = source
        else:
            self._source = _FunctionSource(source)
        self.dry_run = dry_run
        self.max_share = max_share
        self.force = force
        self._name = name or f"list-cleanup:{self.list_id}:{action}"
        self._clock = clock
        self._last_plan: CleanupPlan | None = None

    @property
    def name(self) -> str:
        """The job's name: the key of its checkpoint and of its per-profile markers."""
        return self._name

    @property
    def last_plan(self) -> CleanupPlan | None:
        """The plan of the last pass whose scan finished (``None`` before one did)."""
        return self._last_plan

    # --- the pass ----------------------------------------------------------------------------

    def run(self, *, should_stop: Callable[[], bool] = never_stop) -> JobReport:
        """Make one pass: scan the list, then (unless a dry run) act on the unengaged.

        Klaviyo and store failures do not raise: the pass stops at its last checkpoint and the
        report carries the error (``complete=False``); the next run resumes.

        Args:
            should_stop: Polled between pages and batches; ``True`` checkpoints and returns.

        Returns:
            The report; ``counts`` has ``members``, ``spared_new``, ``engaged``, ``unengaged``,
            ``skipped`` and ``acted``. A refusal by the safety cap has ``acted == 0`` and one
            error naming the share and the cap.
        """
        started = self._clock()
        checkpoint = self._load(started)
        try:
            if not self._scan(checkpoint, should_stop):
                return self._report(started, checkpoint, complete=False)
            plan = self._plan(checkpoint)
            self._last_plan = plan
            if self.dry_run:
                self._clear()
                return self._report(started, checkpoint)
            if plan.share > self.max_share and not self.force:
                self._clear()
                return self._report(
                    started, checkpoint, complete=False, errors=(self._refusal(plan),)
                )
            if not self._act(checkpoint, plan, should_stop):
                return self._report(started, checkpoint, complete=False)
        except KlaviyoError as exc:
            _log.warning("job %s stopped at its checkpoint: %s", self.name, exc)
            return self._report(
                started, checkpoint, complete=False, errors=(f"{type(exc).__name__}: {exc}",)
            )
        self._clear()
        return self._report(started, checkpoint)

    def _refusal(self, plan: CleanupPlan) -> str:
        return (
            f"refused: {plan.unengaged:,} of {plan.members:,} members of list {plan.list_id} "
            f"({_percent(plan.share)}) are unengaged, above the {_percent(self.max_share)} cap; "
            f"nobody was acted on. Check the engagement source and days={self.days}, or pass "
            "force=True."
        )

    # --- checkpoint ----------------------------------------------------------------------------

    @property
    def _key(self) -> str:
        return f"jobs:{self.name}:checkpoint"

    @property
    def _marker_kind(self) -> str:
        return f"jobs:{self.name}:acted"

    def _fingerprint(self) -> dict[str, JSONValue]:
        return {
            "list_id": self.list_id,
            "action": self.action,
            "days": self.days,
            "metrics": list(self.metrics),
            "dry_run": self.dry_run,
        }

    def _load(self, now: datetime) -> _Checkpoint:
        text = self._store.get_cursor(self._key)
        if text:
            document = json.loads(text)
            if (
                isinstance(document, dict)
                and document.get("fingerprint") == self._fingerprint()
                and now - _iso(document["as_of"]) <= CHECKPOINT_TTL
            ):
                return _Checkpoint(document)
            _log.info("job %s: options changed or checkpoint stale; new pass", self.name)
        return _Checkpoint.fresh(self._fingerprint(), now)

    def _save(self, checkpoint: _Checkpoint) -> None:
        self._store.set_cursor(self._key, json.dumps(checkpoint.doc))

    def _clear(self) -> None:
        self._store.set_cursor(self._key, "")

    # --- scan ----------------------------------------------------------------------------------

    def _scan(self, checkpoint: _Checkpoint, should_stop: Callable[[], bool]) -> bool:
        """Read member pages from the checkpoint's cursor; ``False`` if asked to stop first."""
        as_of = _iso(checkpoint.doc["as_of"])
        since = as_of - timedelta(days=self.days)
        while not checkpoint.doc["scanned"]:
            if should_stop():
                return False
            cursor = checkpoint.doc["cursor"]
            members, next_cursor = self._members_page(cursor if isinstance(cursor, str) else None)
            self._classify(checkpoint, members, since)
            checkpoint.doc["cursor"] = next_cursor
            checkpoint.doc["scanned"] = next_cursor is None
            self._save(checkpoint)
        return True

    def _members_page(self, cursor: str | None) -> tuple[list[Profile], str | None]:
        page = self._client.sdk.lists.get_profiles_for_list(
            self.list_id,
            additional_fields_profile=None if self.action == "remove" else ["subscriptions"],
            page_size=MEMBER_PAGE,
            page_cursor=cursor,
        )
        doc = Document.parse(page)
        return doc.resources(Profile), doc.next_cursor

    def _classify(self, checkpoint: _Checkpoint, members: list[Profile], since: datetime) -> None:
        candidates: dict[str, tuple[Profile, datetime]] = {}
        for profile in members:
            if not profile.id:
                continue
            checkpoint.add("members", 1)
            joined = _joined(profile)
            if joined is None or joined > since:
                checkpoint.add("spared_new", 1)
            elif self._handled(profile):
                checkpoint.add("skipped", 1)
            else:
                candidates[profile.id] = (profile, joined)
        if not candidates:
            return
        engaged = self._source.engaged(list(candidates), metrics=self.metrics, since=since)
        checkpoint.add("engaged", len(engaged & candidates.keys()))
        checkpoint.add_targets(
            CleanupTarget(profile_id, profile.email, joined, self._reason(joined))
            for profile_id, (profile, joined) in candidates.items()
            if profile_id not in engaged
        )

    def _handled(self, profile: Profile) -> bool:
        """Whether a member needs nothing (or cannot be reached) for this action."""
        assert profile.id is not None  # noqa: S101 - checked by the caller
        if self._store.get_record_sync(self._marker_kind, profile.id) is not None:
            return True
        if self.action == "remove":
            return False
        if not profile.email:
            return True  # suppression and unsubscription go by email address
        marketing = _email_marketing(profile)
        if self.action == "suppress":
            return bool(marketing.get("suppression"))
        return marketing.get("consent") == "UNSUBSCRIBED"

    def _reason(self, joined: datetime) -> str:
        metrics = " or ".join(self.metrics)
        return (
            f"no {metrics} in the last {self.days} days; "
            f"in the list since {joined.date().isoformat()}"
        )

    def _plan(self, checkpoint: _Checkpoint) -> CleanupPlan:
        as_of = _iso(checkpoint.doc["as_of"])
        counts = checkpoint.counts
        return CleanupPlan(
            list_id=self.list_id,
            action=self.action,
            as_of=as_of,
            since=as_of - timedelta(days=self.days),
            members=counts["members"],
            spared_new=counts["spared_new"],
            engaged=counts["engaged"],
            skipped=counts["skipped"],
            targets=tuple(checkpoint.targets),
        )

    # --- action --------------------------------------------------------------------------------

    def _act(
        self, checkpoint: _Checkpoint, plan: CleanupPlan, should_stop: Callable[[], bool]
    ) -> bool:
        """Treat the targets not yet marked, batch by batch; ``False`` if asked to stop."""
        pending = [
            t
            for t in plan.targets
            if self._store.get_record_sync(self._marker_kind, t.profile_id) is None
        ]
        size = BATCH_SIZES[self.action]
        for start in range(0, len(pending), size):
            if should_stop():
                return False
            batch = pending[start : start + size]
            if self.action == "unsubscribe":
                batch = self._still_members(batch, checkpoint)
            if batch:
                self._record(batch, self._send(batch))
                checkpoint.add("acted", len(batch))
            self._save(checkpoint)
        return True

    def _still_members(
        self, batch: list[CleanupTarget], checkpoint: _Checkpoint
    ) -> list[CleanupTarget]:
        """Keep the targets still in the list: Klaviyo unsubscribes the others *globally*."""
        emails = [t.email for t in batch if t.email]
        page = self._client.sdk.lists.get_profile_ids_for_list(
            self.list_id, filter=any_("email", emails), page_size=MEMBER_PAGE
        )
        present = {p.id for p in Document.parse(page).resources(Profile)}
        kept = [t for t in batch if t.profile_id in present]
        checkpoint.add("skipped", len(batch) - len(kept))
        return kept

    def _send(self, batch: Sequence[CleanupTarget]) -> tuple[str, ...]:
        lists = self._client.lists
        if self.action == "remove":
            return lists.remove_profiles(self.list_id, [t.profile_id for t in batch]).job_ids
        emails = [t.email for t in batch if t.email]
        if self.action == "suppress":
            return lists.suppress(emails).job_ids
        return lists.unsubscribe(emails, list_id=self.list_id).job_ids

    def _record(self, batch: Sequence[CleanupTarget], job_ids: tuple[str, ...]) -> None:
        now = self._clock()
        for target in batch:
            self._store.record_sync(
                self._marker_kind, target.profile_id, updated_at=now, source=self.name
            )
            detail: JsonDict = {
                "job": self.name,
                "list_id": self.list_id,
                "action": self.action,
                "reason": target.reason,
                "joined_at": target.joined_at.isoformat(),
                "klaviyo_job_ids": list(job_ids),
            }
            self._store.append_audit(
                AuditEntry(
                    at=now,
                    direction="sent",
                    operation=f"jobs.list_cleanup.{self.action}",
                    subject=target.profile_id,
                    detail=detail,
                )
            )

    # --- report --------------------------------------------------------------------------------

    def _report(
        self,
        started: datetime,
        checkpoint: _Checkpoint,
        *,
        complete: bool = True,
        errors: tuple[str, ...] = (),
    ) -> JobReport:
        counts = checkpoint.counts
        rows = checkpoint.doc["targets"]
        counts["unengaged"] = len(rows) if isinstance(rows, list) else 0
        return JobReport(
            self.name,
            started=started,
            finished=self._clock(),
            complete=complete,
            dry_run=self.dry_run,
            counts=counts,
            errors=errors,
        )
