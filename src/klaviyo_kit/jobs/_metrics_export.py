"""``MetricsExportJob``: daily metric aggregates and raw events, exported to a BI sink.

Two passes per metric, each checkpointed in the state store so a stopped or killed run resumes:

* **Aggregates.** Count, sum of ``$value`` and unique profiles per day of the account's time zone,
  from the metric aggregates API, in chunks of at most 31 days. The cursor
  ``jobs:<name>:aggregates:<metric_id>`` keeps the last day exported; every run re-aggregates the
  ``reaggregate_days`` days up to it (default 3) so late events land in their day, and the sink
  replaces those rows by ``(metric_id, day)``.
* **Events.** Every event of the metric since the watermark ``jobs:<name>:events:<metric_id>``,
  oldest first, page by page, each page written to the sink and then checkpointed. A run starts
  ``overlap`` before the watermark, to catch events stored late with a time just before it; the
  ids of events already exported inside that window are kept beside the watermark, so they are
  skipped (counted as ``duplicates_skipped``) rather than written twice. Only one page is ever
  held in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from klaviyo_kit.errors import ConfigurationError, KlaviyoError
from klaviyo_kit.jobs._job import JobReport, never_stop, save_status, utcnow
from klaviyo_kit.jobs._sinks import DailyAggregate, ExportedEvent
from klaviyo_kit.sdk.types import Document
from klaviyo_kit.services.filters import and_, equals, quote

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from klaviyo_kit.client import KlaviyoClient
    from klaviyo_kit.infra import JSONValue, StateStore
    from klaviyo_kit.jobs._sinks import Sink

__all__ = ["MetricsExportJob"]

MAX_PAGE_SIZE = 1000
"""The most events ``get_events`` returns per page."""
CHUNK_DAYS = 31
"""The most days one aggregate query covers."""
DEFAULT_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class _Metric:
    """A metric being exported: its id and name."""

    id: str
    name: str


class _Counts:
    __slots__ = ("aggregate_rows", "duplicates_skipped", "events_exported")

    def __init__(self) -> None:
        self.aggregate_rows = 0
        self.events_exported = 0
        self.duplicates_skipped = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "aggregate_rows": self.aggregate_rows,
            "events_exported": self.events_exported,
            "duplicates_skipped": self.duplicates_skipped,
        }


class _Stopped(Exception):  # noqa: N818 - control flow, never escapes the job
    """``should_stop`` said stop after a checkpoint."""


class MetricsExportJob:
    """Export daily aggregates and raw events of chosen metrics to a :class:`Sink`.

    Re-running it adds no duplicate rows: aggregates are replaced by ``(metric_id, day)`` and
    events already exported are skipped by id. Memory stays flat however many events are
    exported: each page goes straight to the sink.

    Args:
        client: The Klaviyo client.
        store: Where cursors and watermarks are checkpointed (and the job's status kept).
        sink: Where the rows go (:class:`CSVSink`, :class:`JSONLSink`, :class:`SQLSink`).
        metrics: Metric names to export (looked up, cached, with ``client.metrics.get_id``).
        metric_ids: Metric ids to export.
        name: The job's name: the prefix of its checkpoints and its status.
        start: Where a metric never exported starts (naive means UTC; a ``date`` is midnight in
            the account's time zone); ``None`` means 30 days before the first run.
        timezone: The IANA zone whose days the aggregates follow; ``None`` reads the account's
            from the accounts API at the start of each run (UTC if the account names none).
        reaggregate_days: How many days up to the last exported one are aggregated again.
        overlap: How far before the watermark each events pass starts.
        page_size: Events per page (1 to 1,000).
        aggregates: Export daily aggregates.
        events: Export raw events.
        now: The current UTC time; inject a fixed one in tests.

    Raises:
        ValueError: For no metrics, a negative ``reaggregate_days`` or ``overlap``, a page size
            out of range, both passes turned off, or an unknown time zone.

    Example:
        ```python
        job = MetricsExportJob(
            client, SQLStateStore(url), SQLSink(url), metrics=["Placed Order", "Opened Email"]
        )
        report = job.run()
        report.counts  # {"aggregate_rows": 93, "events_exported": 1042, "duplicates_skipped": 3}
        ```
    """

    def __init__(
        self,
        client: KlaviyoClient,
        store: StateStore,
        sink: Sink,
        *,
        metrics: Iterable[str] = (),
        metric_ids: Iterable[str] = (),
        name: str = "metrics-export",
        start: datetime | date | None = None,
        timezone: str | None = None,
        reaggregate_days: int = 3,
        overlap: timedelta = timedelta(minutes=10),
        page_size: int = MAX_PAGE_SIZE,
        aggregates: bool = True,
        events: bool = True,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """Check the options; nothing is sent until :meth:`run`."""
        self._names = tuple(_text(m, "metrics") for m in _strings(metrics, "metrics"))
        self._ids = tuple(_text(m, "metric_ids") for m in _strings(metric_ids, "metric_ids"))
        if not self._names and not self._ids:
            raise ValueError("MetricsExportJob needs metrics= (names) or metric_ids=")
        if reaggregate_days < 0:
            raise ValueError(f"reaggregate_days must be 0 or more, got {reaggregate_days}")
        if overlap < timedelta(0):
            raise ValueError(f"overlap must not be negative, got {overlap}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}, got {page_size}")
        if not aggregates and not events:
            raise ValueError("MetricsExportJob needs aggregates=True or events=True")
        if timezone is not None:
            _zone(timezone)
        self._client = client
        self._store = store
        self._sink = sink
        self._name = _text(name, "name")
        self._start = start
        self._timezone = timezone
        self._reaggregate = reaggregate_days
        self._overlap = overlap
        self._page_size = page_size
        self._passes = (aggregates, events)
        self._now = now

    @property
    def name(self) -> str:
        """The job's name (the prefix of its checkpoints)."""
        return self._name

    def run(self, *, should_stop: Callable[[], bool] = never_stop) -> JobReport:
        """Export every chosen metric once, checkpointing after each chunk and page.

        Args:
            should_stop: Polled after each checkpoint; ``True`` ends the pass early
                (``complete=False``), to resume where it stopped.

        Returns:
            The report: ``aggregate_rows``, ``events_exported`` and ``duplicates_skipped``
            counts, one error line per metric that failed, and the oldest events watermark.
        """
        started = self._now()
        counts = _Counts()
        errors: list[str] = []
        complete = True
        metrics: list[_Metric] = []
        try:
            zone = self._timezone or self.account_timezone()
            metrics = self._resolve(errors)
            for metric in metrics:
                self._export_metric(metric, zone, counts, should_stop, errors)
        except _Stopped:
            complete = False
        except KlaviyoError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        watermark = None
        try:
            watermark = self._oldest_watermark(metrics)
        except KlaviyoError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        report = JobReport(
            self._name,
            started=started,
            finished=self._now(),
            complete=complete and not errors,
            counts=counts.as_dict(),
            errors=tuple(errors),
            watermark=watermark,
        )
        try:
            save_status(self._store, report)
        except KlaviyoError as exc:
            line = f"status not saved: {type(exc).__name__}: {exc}"
            report = replace(report, complete=False, errors=(*report.errors, line))
        return report

    def account_timezone(self) -> str:
        """Return the account's IANA time zone from the accounts API (``UTC`` if it has none).

        Raises:
            klaviyo_kit.errors.APIError: If Klaviyo refuses the call.
            klaviyo_kit.errors.ConfigurationError: If this system does not know the zone (install
                ``tzdata``, or pass ``timezone=``).
        """
        doc = Document.parse(self._client.sdk.accounts.get_accounts())
        accounts = doc.data if isinstance(doc.data, list) else [doc.data] if doc.data else []
        for account in accounts:
            attributes = account.get("attributes")
            zone = attributes.get("timezone") if isinstance(attributes, dict) else None
            if isinstance(zone, str) and zone:
                try:
                    _zone(zone)
                except ValueError as exc:
                    msg = f"the account's time zone {zone!r} is unknown here: pass timezone="
                    raise ConfigurationError(msg) from exc
                return zone
        return "UTC"

    # --- metrics ------------------------------------------------------------------------------

    def _resolve(self, errors: list[str]) -> list[_Metric]:
        found: list[_Metric] = []
        for metric_name in self._names:
            metric_id = self._client.metrics.get_id(metric_name)
            if metric_id is None:
                errors.append(f"metric {metric_name!r} not found")
            else:
                found.append(_Metric(metric_id, metric_name))
        for metric_id in self._ids:
            try:
                metric = self._client.metrics.get(metric_id)
            except KlaviyoError as exc:
                errors.append(f"metric {metric_id!r}: {type(exc).__name__}: {exc}")
                continue
            found.append(_Metric(metric_id, metric.name or metric_id))
        return list({m.id: m for m in found}.values())

    def _export_metric(
        self,
        metric: _Metric,
        zone: str,
        counts: _Counts,
        should_stop: Callable[[], bool],
        errors: list[str],
    ) -> None:
        aggregates, events = self._passes
        try:
            if aggregates:
                self._export_aggregates(metric, zone, counts, should_stop)
            if events:
                start = self._start_instant(zone)
                pages = self._event_pages(metric.id, self._since(metric.id, start))
                self._export_events(metric.id, pages, counts, should_stop, start=start)
        except KlaviyoError as exc:
            errors.append(f"metric {metric.name!r}: {type(exc).__name__}: {exc}")

    # --- aggregates ---------------------------------------------------------------------------

    def _aggregates_key(self, metric_id: str) -> str:
        return f"jobs:{self._name}:aggregates:{metric_id}"

    def _first_day(self, metric_id: str, tz: ZoneInfo) -> date:
        start = self._start_instant(tz.key).astimezone(tz).date()
        through = self._store.get_cursor(self._aggregates_key(metric_id))
        if through is None:
            return start
        return max(start, date.fromisoformat(through) - timedelta(days=self._reaggregate - 1))

    def _export_aggregates(
        self,
        metric: _Metric,
        zone: str,
        counts: _Counts,
        should_stop: Callable[[], bool],
    ) -> None:
        tz = _zone(zone)
        today = self._now().astimezone(tz).date()
        day = self._first_day(metric.id, tz)
        while day <= today:
            last = min(day + timedelta(days=CHUNK_DAYS - 1), today)
            result = self._client.metrics.aggregate(
                metric.id,
                start=datetime.combine(day, time(), tz),
                end=datetime.combine(last + timedelta(days=1), time(), tz),
                measurements=("count", "sum_value", "unique"),
                interval="day",
                timezone=zone,
            )
            totals = {m: result.by_day(m) for m in ("count", "sum_value", "unique")}
            rows = [
                DailyAggregate(
                    metric.id,
                    metric.name,
                    when,
                    zone,
                    count=round(totals["count"].get(when, 0.0)),
                    sum_value=totals["sum_value"].get(when, 0.0),
                    unique_profiles=round(totals["unique"].get(when, 0.0)),
                )
                for when in _days(day, last)
            ]
            counts.aggregate_rows += self._sink.write_aggregates(rows)
            self._store.set_cursor(self._aggregates_key(metric.id), last.isoformat())
            if should_stop():
                raise _Stopped
            day = last + timedelta(days=1)

    # --- events -------------------------------------------------------------------------------

    def _watermark_key(self, metric_id: str) -> str:
        return f"jobs:{self._name}:events:{metric_id}"

    def _recent_key(self, metric_id: str) -> str:
        return f"jobs:{self._name}:events:{metric_id}:recent"

    def _start_instant(self, zone: str) -> datetime:
        start = self._start
        if start is None:
            return self._first_run() - DEFAULT_LOOKBACK
        if isinstance(start, datetime):
            return start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        return datetime.combine(start, time(), ZoneInfo(zone))

    def _first_run(self) -> datetime:
        """When the job first ran (kept, so a default ``start`` does not move between runs)."""
        key = f"jobs:{self._name}:first-run"
        stored = self._store.get_watermark(key)
        return stored or self._store.advance_watermark(key, self._now())

    def _since(self, metric_id: str, start: datetime) -> datetime:
        watermark = self._store.get_watermark(self._watermark_key(metric_id))
        return start if watermark is None else max(start, watermark - self._overlap)

    def _event_pages(self, metric_id: str, since: datetime) -> Iterator[list[dict[str, JSONValue]]]:
        """Yield the metric's events at or after ``since``, oldest first, a page at a time."""
        query = and_(equals("metric_id", metric_id), f"greater-or-equal(datetime,{quote(since)})")
        cursor: str | None = None
        while True:
            answer = self._client.sdk.events.get_events(
                filter=query, sort="datetime", page_size=self._page_size, page_cursor=cursor
            )
            doc = Document.parse(answer)
            data = doc.data if isinstance(doc.data, list) else []
            yield data
            cursor = doc.next_cursor
            if not cursor:
                return

    def _export_events(
        self,
        metric_id: str,
        pages: Iterable[list[dict[str, JSONValue]]],
        counts: _Counts,
        should_stop: Callable[[], bool],
        *,
        start: datetime,
    ) -> None:
        """Write each page's new events to the sink, then checkpoint the watermark and ids."""
        watermark = self._store.get_watermark(self._watermark_key(metric_id))
        recent = self._load_recent(metric_id)
        for page in pages:
            fresh: list[ExportedEvent] = []
            for raw in page:
                event = _event(metric_id, raw)
                if event is None:
                    continue
                if event.event_id in recent:
                    counts.duplicates_skipped += 1
                    continue
                recent[event.event_id] = event.time.timestamp()
                fresh.append(event)
                if watermark is None or event.time > watermark:
                    watermark = event.time
            added = self._sink.write_events(fresh)
            counts.events_exported += added
            counts.duplicates_skipped += len(fresh) - added
            if watermark is not None:
                horizon = max(watermark - self._overlap, start).timestamp()
                recent = {k: t for k, t in recent.items() if t >= horizon}
                self._store.advance_watermark(self._watermark_key(metric_id), watermark)
                self._store.set_cursor(self._recent_key(metric_id), json.dumps(recent))
            if should_stop():
                raise _Stopped

    def _load_recent(self, metric_id: str) -> dict[str, float]:
        text = self._store.get_cursor(self._recent_key(metric_id))
        loaded = json.loads(text) if text else {}
        return {str(k): float(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    def _oldest_watermark(self, metrics: Iterable[_Metric]) -> datetime | None:
        if not self._passes[1]:
            return None
        marks = [self._store.get_watermark(self._watermark_key(m.id)) for m in metrics]
        found = [mark for mark in marks if mark is not None]
        return min(found) if found else None


def _strings(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of strings, not one string")
    return tuple(values)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must hold non-empty strings, got {value!r}")
    return value.strip()


def _zone(name: str) -> ZoneInfo:
    """Return the zone called ``name``, or raise ``ValueError`` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone {name!r} is not an IANA time zone like 'UTC'") from exc


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _event(metric_id: str, raw: Mapping[str, JSONValue]) -> ExportedEvent | None:
    """Read one event resource; ``None`` for one without an id or a time."""
    event_id = raw.get("id")
    attributes = raw.get("attributes")
    attrs = attributes if isinstance(attributes, dict) else {}
    when = _time(attrs.get("datetime"), attrs.get("timestamp"))
    if not isinstance(event_id, str) or when is None:
        return None
    props = attrs.get("event_properties")
    properties = props if isinstance(props, dict) else {}
    value = properties.get("$value")
    relationships = raw.get("relationships")
    profile = relationships.get("profile") if isinstance(relationships, dict) else None
    data = profile.get("data") if isinstance(profile, dict) else None
    profile_id = data.get("id") if isinstance(data, dict) else None
    uuid = attrs.get("uuid")
    return ExportedEvent(
        event_id,
        metric_id,
        profile_id if isinstance(profile_id, str) else None,
        when,
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None,
        uuid if isinstance(uuid, str) else None,
        properties,
    )


def _time(text: object, stamp: object) -> datetime | None:
    if isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] == "Z" else text)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is timezone.utc:
                return moment
            aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
            return aware.astimezone(timezone.utc)
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp, timezone.utc)
    return None
