"""Two-way, last-write-wins sync of people between the application and Klaviyo.

One pass pulls Klaviyo's profiles changed since its watermark (``updated`` greater than the
watermark minus an overlap window, sorted by ``updated``, every page), applies them through the
:class:`~klaviyo_kit.jobs.ProfileSource`, then pushes the application's rows changed since its
own watermark (bulk import jobs, or upserts when few). Both watermarks are checkpointed per page,
so a stopped or killed pass resumes and ends where an uninterrupted one would.

What both sides last agreed on is remembered per person as a digest of the synchronised fields.
That makes the re-read overlap harmless (a version already taken changes nothing), stops echoes
(the job's own writes come back equal to the agreed digest and are skipped) and finds conflicts:
a person whose Klaviyo and application versions both differ from the agreed one changed on both
sides, and the conflict policy (last write wins by default) picks the version kept. Every
conflict is appended to the store's audit log.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final, Literal

from klaviyo_kit.errors import (
    BadRequestError,
    ConflictError,
    InvalidInputError,
    JobError,
    KlaviyoError,
)
from klaviyo_kit.infra import AuditEntry
from klaviyo_kit.jobs._job import JobReport, never_stop, save_status, utcnow
from klaviyo_kit.jobs._profile_source import HostProfile, ProfileData, ProfileLookup, ProfileWrite
from klaviyo_kit.jobs._profile_sync_conflicts import ProfileConflict, last_write_wins
from klaviyo_kit.sdk.types import Document, Profile
from klaviyo_kit.services import Call, ImportReport
from klaviyo_kit.services._profile_import import MAX_IMPORT_ROWS
from klaviyo_kit.services.filters import greater_than

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from klaviyo_kit.client import KlaviyoClient
    from klaviyo_kit.infra import StateStore
    from klaviyo_kit.jobs._profile_source import ProfileSource
    from klaviyo_kit.jobs._profile_sync_conflicts import ConflictPolicy

__all__ = ["ProfileOutcome", "ProfileSyncJob"]


ProfileOutcome = Literal["applied", "kept_local", "echo", "repeat"]
"""What taking one Klaviyo profile did: applied it locally, kept the local version after a
conflict, skipped it as the echo of an agreed version, or skipped a version already taken."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_ERROR_LINES: Final = 200
_COUNTS: Final = ("pulled", "pushed", "conflicts", "skipped_echo", "errors")


@dataclass(slots=True)
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTS, 0))
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def error(self, line: str) -> None:
        self.counts["errors"] += 1
        if len(self.errors) < _MAX_ERROR_LINES:
            self.errors.append(line)


class _SyncState:
    """The job's memory in the state store, read and written a page at a time.

    Reads are cached and writes buffered until :meth:`flush` (one batch of cursors and one of
    versions per page); the caches are dropped at each flush, so a long pass holds one page.
    In a dry run nothing is flushed: the writes stay in this object.
    """

    def __init__(self, store: StateStore, name: str, *, dry_run: bool) -> None:
        self.store = store
        self.name = name
        self.dry_run = dry_run
        self._cursors: dict[str, str | None] = {}
        self._versions: dict[tuple[str, str], datetime | None] = {}
        self._new_cursors: dict[str, str] = {}
        self._new_versions: dict[str, dict[str, datetime]] = {}
        self.shadowed: set[str] = set()
        """Rows a dry run has already counted (as pulled or pushed): not to count again."""

    def _agreed_key(self, local_id: str) -> str:
        return f"jobs:{self.name}:agreed:{local_id}"

    def _link_key(self, klaviyo_id: str) -> str:
        return f"jobs:{self.name}:link:{klaviyo_id}"

    def _kind(self, side: str) -> str:
        return f"jobs:{self.name}:{side}"

    def preload(
        self,
        *,
        links: Iterable[str] = (),
        agreed: Iterable[str] = (),
        versions: tuple[str, Iterable[str]] | None = None,
    ) -> None:
        """Read what a page will ask for in one batch per kind of entry."""
        keys = [self._link_key(k) for k in links] + [self._agreed_key(a) for a in agreed]
        missing = [key for key in dict.fromkeys(keys) if key not in self._cursors]
        if missing:
            found = self.store.get_cursors(missing)
            self._cursors.update((key, found.get(key)) for key in missing)
        if versions is not None:
            side, ids = versions
            unknown = [i for i in dict.fromkeys(ids) if (side, i) not in self._versions]
            if unknown:
                stored = self.store.get_record_syncs(self._kind(side), unknown)
                self._versions.update(
                    ((side, i), stored[i].updated_at if i in stored else None) for i in unknown
                )

    def _get(self, key: str) -> dict[str, str] | None:
        if key not in self._cursors:
            self._cursors[key] = self.store.get_cursor(key)
        text = self._cursors[key]
        return json.loads(text) if text else None

    def _set(self, key: str, value: dict[str, str]) -> None:
        text = json.dumps(value, sort_keys=True)
        self._cursors[key] = text
        self._new_cursors[key] = text

    def agreed(self, local_id: str) -> str | None:
        """The digest both sides last agreed on for this row."""
        value = self._get(self._agreed_key(local_id))
        return value.get("h") if value else None

    def agree(self, local_id: str, digest: str) -> None:
        if self.agreed(local_id) != digest:
            self._set(self._agreed_key(local_id), {"h": digest})

    def link(self, klaviyo_id: str) -> tuple[str, str] | None:
        """The local id of a Klaviyo profile and the digest of its last version taken."""
        value = self._get(self._link_key(klaviyo_id))
        return (value["l"], value.get("d", "")) if value else None

    def set_link(self, klaviyo_id: str, local_id: str, decided: str) -> None:
        if self.link(klaviyo_id) != (local_id, decided):
            self._set(self._link_key(klaviyo_id), {"l": local_id, "d": decided})

    def _version(self, side: str, record_id: str) -> datetime | None:
        if (side, record_id) not in self._versions:
            stored = self.store.get_record_sync(self._kind(side), record_id)
            self._versions[side, record_id] = stored.updated_at if stored else None
        return self._versions[side, record_id]

    def new_version(self, side: str, record_id: str, at: datetime) -> bool:
        """Remember a version of a record; ``False`` if it (or a later one) was seen."""
        seen = self._version(side, record_id)
        if seen is not None and seen >= at:
            return False
        self._versions[side, record_id] = at
        self._new_versions.setdefault(side, {})[record_id] = at
        return True

    def taken_later(self, side: str, record_id: str, at: datetime) -> bool:
        """Whether a later version of the record than ``at`` was already taken."""
        seen = self._version(side, record_id)
        return seen is not None and seen > at

    def flush(self) -> None:
        """Write what the page decided (nothing in a dry run) and drop the caches."""
        if self.dry_run:
            return
        if self._new_cursors:
            self.store.set_cursors(self._new_cursors)
        for side, versions in self._new_versions.items():
            self.store.record_syncs(self._kind(side), versions, source=side)
        self._new_cursors, self._new_versions = {}, {}
        self._cursors.clear()
        self._versions.clear()

    def watermark(self, side: str) -> datetime | None:
        return self.store.get_watermark(self._kind(side))

    def advance(self, side: str, at: datetime) -> None:
        if not self.dry_run:
            self.store.advance_watermark(self._kind(side), at)

    def audit(self, entry: AuditEntry) -> None:
        if not self.dry_run:
            self.store.append_audit(entry)


@dataclass(frozen=True, slots=True)
class _Incoming:
    """One Klaviyo profile on its way in."""

    klaviyo_id: str
    version: datetime
    data: ProfileData
    digest: str
    lookup: ProfileLookup

    @classmethod
    def of(cls, profile: Profile) -> _Incoming:
        if not profile.id:
            raise ValueError("a Klaviyo profile without an id cannot be synchronised")
        data = _klaviyo_data(profile)
        return cls(
            profile.id,
            profile.updated or _EPOCH,
            data,
            data.fingerprint(),
            ProfileLookup(email=data.email),
        )

    def looking_for(self, local_id: str | None) -> _Incoming:
        return dataclasses.replace(self, lookup=ProfileLookup(local_id, self.data.email))


@dataclass(slots=True)
class _Batch:
    """The writes of a page so far, and what they touch (no two may meet at one row)."""

    items: list[tuple[_Incoming, ProfileWrite]] = field(default_factory=list)
    touched: set[tuple[str, str]] = field(default_factory=set)

    @staticmethod
    def _keys(incoming: _Incoming, local: HostProfile | None) -> set[tuple[str, str]]:
        keys = {("klaviyo", incoming.klaviyo_id)}
        if local is not None:
            keys.add(("row", local.id))
        if incoming.data.email:
            keys.add(("email", incoming.data.email.strip().lower()))
        return keys

    def collides(self, incoming: _Incoming, local: HostProfile | None) -> bool:
        return not self.touched.isdisjoint(self._keys(incoming, local))

    def add(self, incoming: _Incoming, local: HostProfile | None, write: ProfileWrite) -> None:
        self.items.append((incoming, write))
        self.touched |= self._keys(incoming, local)


@dataclass(slots=True)
class _Step:
    """A page of the push: its changed rows (id, digest, time) and its import job, if any.

    ``until`` is where the local watermark goes once the step is done (``None``: nowhere, for
    rows pushed outside paging). A step without a report was finished when it was made.
    """

    until: datetime | None
    rows: list[tuple[str, str, datetime]] = field(default_factory=list)
    report: ImportReport | None = None


def _klaviyo_data(profile: Profile) -> ProfileData:
    return ProfileData(
        email=profile.email,
        phone_number=profile.phone_number,
        first_name=profile.first_name,
        last_name=profile.last_name,
        properties=dict(profile.properties),
    )


def _push_input(row: HostProfile) -> dict[str, object]:
    data = row.data
    fields: dict[str, object] = {
        "email": data.email,
        "phone_number": data.phone_number,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "external_id": row.id,
        "properties": dict(data.properties),
    }
    return {k: v for k, v in fields.items() if v is not None}


class ProfileSyncJob:
    """Keep the application's people and Klaviyo's profiles equal, in both directions.

    Klaviyo's profile ``external_id`` is set to the application's row id, and the job remembers
    which row each Klaviyo profile belongs to (a profile created in Klaviyo is matched to a row
    by email, or inserted). Only the fields of :class:`~klaviyo_kit.jobs.ProfileData` are
    synchronised.

    Args:
        client: The Klaviyo client.
        store: Where watermarks, agreed versions and the audit log are kept.
        source: The application's side.
        name: The job's name: the key of its checkpoints and status.
        on_conflict: Picks the version kept when a person changed on both sides; see
            :func:`~klaviyo_kit.jobs.last_write_wins` (the default),
            :func:`~klaviyo_kit.jobs.prefer_local` and :func:`~klaviyo_kit.jobs.prefer_klaviyo`.
        dry_run: Report what would change and write nothing, in Klaviyo, the source or the store.
        overlap: How far before each watermark a pass re-reads, for equal timestamps at page
            boundaries, late commits and clock skew between writers (re-read versions are
            recognised and skipped).
        page_size: Klaviyo profiles per page (1-100).
        push_batch: Application rows read per page (1-10,000, at most one bulk import job).
        imports_in_flight: Bulk import jobs submitted before the oldest must have finished:
            Klaviyo works on them side by side while the next pages are read. The local
            watermark advances in page order as jobs finish, so a kill re-pushes at most
            these pages (rows kept meanwhile: id, digest and time of each).
        bulk_threshold: Push a page with at least this many changed rows as a bulk import job;
            fewer are upserted one by one.
        poll_interval: Seconds between polls of a bulk import job.
        import_timeout: Seconds to wait for a bulk import job before the pass stops.
        clock: The current UTC time (report and audit times).

    Raises:
        ValueError: If a size is out of range.

    Example:
        ```python
        job = ProfileSyncJob(client, store, SQLProfileSource(engine, "users"))
        report = job.run()
        report.counts["pulled"], report.counts["pushed"], report.counts["conflicts"]
        ```
    """

    def __init__(
        self,
        client: KlaviyoClient,
        store: StateStore,
        source: ProfileSource,
        *,
        name: str = "profile-sync",
        on_conflict: ConflictPolicy = last_write_wins,
        dry_run: bool = False,
        overlap: timedelta = timedelta(minutes=5),
        page_size: int = 100,
        push_batch: int = 1000,
        imports_in_flight: int = 4,
        bulk_threshold: int = 100,
        poll_interval: float = 2.0,
        import_timeout: float = 3600.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Configure the job; nothing is read or written until :meth:`run`."""
        if not 1 <= page_size <= 100:  # noqa: PLR2004 - Klaviyo's largest page of profiles
            raise ValueError(f"page_size must be 1 to 100, got {page_size}")
        if not 1 <= push_batch <= MAX_IMPORT_ROWS:
            raise ValueError(f"push_batch must be 1 to {MAX_IMPORT_ROWS}, got {push_batch}")
        if imports_in_flight < 1:
            raise ValueError(f"imports_in_flight must be positive, got {imports_in_flight}")
        if bulk_threshold < 1:
            raise ValueError(f"bulk_threshold must be positive, got {bulk_threshold}")
        if overlap < timedelta(seconds=1):
            raise ValueError("overlap must be at least 1 second (Klaviyo's times have seconds)")
        self._client = client
        self._store = store
        self._source = source
        self._name = name
        self._on_conflict = on_conflict
        self.dry_run = dry_run
        self._overlap = overlap
        self._page_size = page_size
        self._push_batch = push_batch
        self._in_flight = imports_in_flight
        self._bulk_threshold = bulk_threshold
        self._poll_interval = poll_interval
        self._import_timeout = import_timeout
        self._clock = clock

    @property
    def name(self) -> str:
        """The job's name: the key of its checkpoints and status."""
        return self._name

    def run(self, *, should_stop: Callable[[], bool] = never_stop) -> JobReport:
        """Make one pass: pull Klaviyo's changes, then push the application's.

        ``should_stop`` is polled before each page; a stop (or an error from Klaviyo) ends the
        pass at the last checkpoint with ``complete=False``. Unless it is a dry run, the pass is
        recorded with :func:`~klaviyo_kit.jobs.save_status`.

        Args:
            should_stop: Returns ``True`` when the pass should end early.

        Returns:
            The report; ``counts`` has ``pulled``, ``pushed``, ``conflicts``, ``skipped_echo``
            and ``errors``.
        """
        started = self._clock()
        state = _SyncState(self._store, self._name, dry_run=self.dry_run)
        tally = _Tally()
        # Local versions that won a conflict are pushed after the pull: a write while paging
        # would move profiles in the ``updated`` order being paged.
        winners: list[HostProfile] = []
        pulled = self._pull(state, tally, should_stop, winners)
        complete = (
            self._push_rows(state, tally, winners)
            and pulled
            and self._push(state, tally, should_stop)
        )
        report = JobReport(
            self._name,
            started=started,
            finished=self._clock(),
            complete=complete,
            dry_run=self.dry_run,
            counts=dict(tally.counts),
            errors=tuple(tally.errors),
            watermark=state.watermark("klaviyo"),
        )
        if not self.dry_run:
            save_status(self._store, report)
        return report

    def apply_klaviyo_profile(self, profile: Profile | Mapping[str, object]) -> ProfileOutcome:
        """Take one profile from Klaviyo now, as a pass would (for a profile webhook handler).

        The same matching, echo and conflict rules apply; when the application's version wins
        a conflict it is pushed at once.

        Args:
            profile: The profile (for example from ``client.profiles.get(id)``), or its JSON:API
                resource object.

        Returns:
            What was done.

        Raises:
            ValueError: If ``profile`` has no id.
            klaviyo_kit.errors.JobError: If pushing the application's version failed.
        """
        if not isinstance(profile, Profile):
            profile = Profile.from_resource(profile)
        state = _SyncState(self._store, self._name, dry_run=self.dry_run)
        tally = _Tally()
        outcomes, winners = self._take_page(state, tally, [profile])
        if winners:
            self._push_rows(state, tally, winners)
            if tally.errors:
                raise JobError(f"{self._name}: {tally.errors[0]}")
        return outcomes[0]

    # --- pull ----------------------------------------------------------------------------------

    def _page(self, filter_: str | None, cursor: str | None) -> tuple[list[Profile], str | None]:
        kwargs: dict[str, object] = {"sort": "updated", "page_size": self._page_size}
        if filter_:
            kwargs["filter"] = filter_
        if cursor:
            kwargs["page_cursor"] = cursor
        doc = Document.parse(self._client.execute(Call("profiles", "get_profiles", (), kwargs)))
        return doc.resources(Profile), doc.next_cursor

    def _pull(
        self,
        state: _SyncState,
        tally: _Tally,
        should_stop: Callable[[], bool],
        winners: list[HostProfile],
    ) -> bool:
        mark = state.watermark("klaviyo")
        filter_ = None if mark is None else greater_than("updated", mark - self._overlap)
        # The next page is fetched while this one is taken: Klaviyo's answer (and the wait for
        # it) overlaps the local writes. Taking a page writes nothing to Klaviyo, so the pages
        # are the same; a stop drops the page fetched ahead (an extra read, nothing lost).
        if should_stop():
            return False
        with ThreadPoolExecutor(1, thread_name_prefix=f"klaviyo-kit-{self._name}") as fetcher:
            ahead = fetcher.submit(self._page, filter_, None)
            while True:
                try:
                    profiles, cursor = ahead.result()
                except KlaviyoError as exc:
                    tally.error(f"pull: {type(exc).__name__}: {exc}")
                    return False
                if cursor:
                    ahead = fetcher.submit(self._page, filter_, cursor)
                winners.extend(self._take_page(state, tally, profiles)[1])
                times = [p.updated for p in profiles if p.updated is not None]
                if times:
                    state.advance("klaviyo", max(times))
                if not cursor:
                    return True
                if should_stop():
                    return False

    def _take_page(
        self, state: _SyncState, tally: _Tally, profiles: Sequence[Profile]
    ) -> tuple[list[ProfileOutcome], list[HostProfile]]:
        """Take a page of Klaviyo profiles: one lookup and one write for the page.

        Returns each profile's outcome and the local versions that won a conflict.
        """
        try:
            return self._take_each(state, tally, profiles)
        finally:
            state.flush()

    def _take_each(
        self, state: _SyncState, tally: _Tally, profiles: Sequence[Profile]
    ) -> tuple[list[ProfileOutcome], list[HostProfile]]:
        outcomes: list[ProfileOutcome] = ["repeat"] * len(profiles)
        todo: list[tuple[int, _Incoming]] = []
        arriving = [_Incoming.of(profile) for profile in profiles]
        ids = [incoming.klaviyo_id for incoming in arriving]
        state.preload(links=ids, versions=("klaviyo", ids))
        for index, (profile, incoming) in enumerate(zip(profiles, arriving, strict=True)):
            link = state.link(incoming.klaviyo_id)
            if (link is not None and link[1] == incoming.digest) or state.taken_later(
                "klaviyo", incoming.klaviyo_id, incoming.version
            ):
                continue  # taken already, or older than what was taken (a late webhook)
            local_id = link[0] if link else profile.external_id
            todo.append((index, incoming.looking_for(local_id)))
        winners: list[HostProfile] = []
        batch = _Batch()
        found = self._source.find([incoming.lookup for _, incoming in todo])
        state.preload(agreed=[row.id for row in found if row is not None])
        for (index, incoming), row in zip(todo, found, strict=True):
            local = row
            if batch.collides(incoming, local):
                # Two profiles of the page meet at one row: write the first before deciding.
                self._write(state, batch)
                batch = _Batch()
                local = self._source.find([incoming.lookup])[0]
            outcome, winner, write = self._decide(state, tally, incoming, local)
            outcomes[index] = outcome
            if winner is not None:
                winners.append(winner)
            if write is not None:
                batch.add(incoming, local, write)
        self._write(state, batch)
        return outcomes, winners

    def _decide(
        self, state: _SyncState, tally: _Tally, incoming: _Incoming, local: HostProfile | None
    ) -> tuple[ProfileOutcome, HostProfile | None, ProfileWrite | None]:
        """Decide one profile against its row: the outcome, a winning row, a write to make."""
        digest, klaviyo_id, version = incoming.digest, incoming.klaviyo_id, incoming.version
        agreed = state.agreed(local.id) if local is not None else None
        local_digest = local.data.fingerprint() if local is not None else None
        if local is not None and digest in {agreed, local_digest}:
            # Our own write coming back, or both sides already equal: nothing to change.
            state.agree(local.id, digest)
            state.set_link(klaviyo_id, local.id, digest)
            if state.new_version("klaviyo", klaviyo_id, version):
                tally.add("skipped_echo")
            return "echo", None, None
        if local is not None and local_digest != agreed:
            winner = self._on_conflict(ProfileConflict(local, klaviyo_id, incoming.data, version))
            tally.add("conflicts")
            state.audit(
                AuditEntry(
                    at=self._clock(),
                    direction="received",
                    operation="profile_sync.conflict",
                    subject=klaviyo_id,
                    detail={
                        "job": self._name,
                        "local_id": local.id,
                        "winner": winner,
                        "local_updated": local.updated_at.isoformat(),
                        "klaviyo_updated": version.isoformat(),
                    },
                )
            )
            if winner == "local":
                state.set_link(klaviyo_id, local.id, digest)
                state.new_version("klaviyo", klaviyo_id, version)
                return "kept_local", local, None
        tally.add("pulled")
        if self.dry_run:
            if local is not None:
                state.shadowed.add(local.id)
            return "applied", None, None
        write = ProfileWrite(local.id if local is not None else None, incoming.data, version)
        return "applied", None, write

    def _write(self, state: _SyncState, batch: _Batch) -> None:
        """Write a batch to the source, then remember each version as agreed and taken."""
        if not batch.items:
            return
        local_ids = self._source.apply([write for _, write in batch.items])
        if len(local_ids) != len(batch.items):
            raise JobError(
                f"{self._name}: the source wrote {len(local_ids)} rows for"
                f" {len(batch.items)} changes; ProfileSource.apply returns one id per write"
            )
        state.preload(agreed=local_ids)  # rows just inserted have ids not read before
        for (incoming, _), local_id in zip(batch.items, local_ids, strict=True):
            state.agree(local_id, incoming.digest)
            state.set_link(incoming.klaviyo_id, local_id, incoming.digest)
            state.new_version("klaviyo", incoming.klaviyo_id, incoming.version)

    # --- push ----------------------------------------------------------------------------------

    def _push(
        self,
        state: _SyncState,
        tally: _Tally,
        should_stop: Callable[[], bool],
    ) -> bool:
        mark = state.watermark("local")
        since = None if mark is None else mark - self._overlap
        after: str | None = None
        steps: deque[_Step] = deque()
        while True:
            if should_stop():
                # Record what has finished, wait for nothing: an unrecorded job's rows are
                # pushed again by the next pass (the same upsert), so a stop is prompt.
                self._settle(state, tally, steps, room=len(steps))
                return False
            rows = self._source.changes(since, after_id=after, limit=self._push_batch)
            if not rows:
                return self._settle(state, tally, steps, room=0)
            last = rows[-1]
            if (
                since is not None
                and after is not None
                and (last.updated_at, last.id) == (since, after)
            ):
                # The source handed back the page it was asked to go past: paging on would loop.
                tally.error(
                    f"push: the source returned rows at or before ({since.isoformat()}, {after})"
                    " again; it must return only rows after the given (updated_at, id)"
                    " (on SQLite, write updated_at in one format: through SQLAlchemy's types)"
                )
                self._settle(state, tally, steps, room=len(steps))
                return False
            step = self._start(state, tally, rows)
            if step is None:
                self._settle(state, tally, steps, room=len(steps))
                return False
            steps.append(step)
            if not self._settle(state, tally, steps, room=self._in_flight - 1):
                return False
            since, after = last.updated_at, last.id
            if len(rows) < self._push_batch:
                return self._settle(state, tally, steps, room=0)

    def _start(self, state: _SyncState, tally: _Tally, rows: Sequence[HostProfile]) -> _Step | None:
        """Push a page's changed rows, or submit them as a bulk import job left in flight.

        Returns the page's step (``None`` when the pass must stop before its checkpoint).
        """
        ids = [row.id for row in rows]
        state.preload(agreed=ids, versions=("local", ids))
        todo = self._unsynced(state, tally, rows)
        until = rows[-1].updated_at
        if self.dry_run or len(todo) < self._bulk_threshold:
            try:
                return _Step(until) if self._send_rows(state, tally, todo) else None
            finally:
                state.flush()
        state.flush()  # the echoes' versions
        return self._submit(tally, todo, until)

    def _submit(
        self, tally: _Tally, todo: Sequence[tuple[HostProfile, str]], until: datetime | None
    ) -> _Step | None:
        """Submit rows as a bulk import job left in flight (``None`` when that failed)."""
        step = _Step(until, [(row.id, digest, row.updated_at) for row, digest in todo])
        try:
            step.report = self._client.profiles.bulk_import(
                [_push_input(row) for row, _ in todo], wait=False
            )
        except KlaviyoError as exc:
            tally.error(f"push: {type(exc).__name__}: {exc}")
            return None
        return step

    def _settle(self, state: _SyncState, tally: _Tally, steps: deque[_Step], *, room: int) -> bool:
        """Poll the jobs in flight until at most ``room`` steps are left; ``False`` to stop.

        Finished steps are recorded and the local watermark advanced in page order; every
        unfinished job is polled once per round, so Klaviyo's jobs progress side by side.
        """
        deadline = time.monotonic() + self._import_timeout
        while steps:
            for step in steps:
                if step.report is not None and not step.report.finished:
                    try:
                        self._client.profiles.wait_import(
                            step.report, poll_interval=self._poll_interval, timeout=0
                        )
                    except KlaviyoError as exc:
                        tally.error(f"push: {type(exc).__name__}: {exc}")
                        return False
            while steps and (steps[0].report is None or steps[0].report.finished):
                self._record(state, tally, steps.popleft())
            if len(steps) <= room:
                return True
            if time.monotonic() >= deadline:
                jobs = [i for step in steps if step.report for i in step.report.job_ids]
                tally.error(f"push: bulk import job(s) {', '.join(jobs)} did not finish")
                return False
            time.sleep(self._poll_interval)
        return True

    def _record(self, state: _SyncState, tally: _Tally, step: _Step) -> None:
        """Remember a finished step's pushed rows, then advance the local watermark past it."""
        if step.report is not None:
            failed: set[int] = set()
            for error in step.report.errors:
                if error.index is not None:
                    failed.add(error.index)
                where = step.rows[error.index][0] if error.index is not None else "?"
                tally.error(f"push {where}: {error.reason}")
            ids = [row_id for row_id, _, _ in step.rows]
            state.preload(agreed=ids, versions=("local", ids))
            for index, (row_id, digest, at) in enumerate(step.rows):
                if index not in failed:
                    self._pushed(state, tally, row_id, digest, at)
            state.flush()
        if step.until is not None:
            state.advance("local", step.until)

    @staticmethod
    def _unsynced(
        state: _SyncState, tally: _Tally, rows: Sequence[HostProfile]
    ) -> list[tuple[HostProfile, str]]:
        """The rows Klaviyo does not hold yet, with their digests (echoes are counted, not sent)."""
        todo: list[tuple[HostProfile, str]] = []
        for row in rows:
            if row.id in state.shadowed:
                continue
            digest = row.data.fingerprint()
            if state.agreed(row.id) == digest:
                if state.new_version("local", row.id, row.updated_at):
                    tally.add("skipped_echo")
                continue
            todo.append((row, digest))
        return todo

    def _push_rows(self, state: _SyncState, tally: _Tally, rows: Sequence[HostProfile]) -> bool:
        """Push rows now (waiting for a bulk import); ``False`` when the pass must stop.

        What was decided is written to the store at the end, pushed or not.
        """
        todo = [(row, row.data.fingerprint()) for row in rows]
        try:
            ids = [row.id for row in rows]
            state.preload(agreed=ids, versions=("local", ids))
            if self.dry_run or len(rows) < self._bulk_threshold:
                return self._send_rows(state, tally, todo)
        finally:
            state.flush()
        step = self._submit(tally, todo, None)
        return step is not None and self._settle(state, tally, deque([step]), room=0)

    def _send_rows(
        self, state: _SyncState, tally: _Tally, rows: Sequence[tuple[HostProfile, str]]
    ) -> bool:
        """Upsert rows one by one (a dry run only counts them)."""
        if self.dry_run:
            tally.add("pushed", len(rows))
            state.shadowed.update(row.id for row, _ in rows)
            return True
        for row, digest in rows:
            try:
                self._client.profiles.upsert(_push_input(row))
            except (InvalidInputError, BadRequestError, ConflictError) as exc:
                # This row is wrong: report it and go on with the others.
                tally.error(f"push {row.id}: {type(exc).__name__}: {exc}")
                continue
            except KlaviyoError as exc:
                # Klaviyo is unwell: stop before the checkpoint, so the next pass pushes again.
                tally.error(f"push {row.id}: {type(exc).__name__}: {exc}")
                return False
            self._pushed(state, tally, row.id, digest, row.updated_at)
        return True

    @staticmethod
    def _pushed(state: _SyncState, tally: _Tally, row_id: str, digest: str, at: datetime) -> None:
        state.agree(row_id, digest)
        state.new_version("local", row_id, at)
        tally.add("pushed")
