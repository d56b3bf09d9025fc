"""Where ``MetricsExportJob`` writes: the rows it exports, the ``Sink`` protocol, and file sinks.

A sink takes two kinds of rows. :class:`DailyAggregate` rows are keyed by ``(metric_id, day)``
and *replace* the stored row with the same key, so re-aggregating a day updates it in place.
:class:`ExportedEvent` rows are keyed by ``event_id``; the job never hands a sink an event it
has already exported (it remembers the ids inside its overlap window), and a sink that can look
keys up cheaply (:class:`~klaviyo_kit.jobs.SQLSink`) skips known ids as well.

The file sinks keep two files in one directory: ``metric_aggregates.<ext>`` (rewritten whole,
atomically, merged by key: it holds one row per metric and day, so it stays small) and
``metric_events.<ext>`` (appended to and flushed page by page: memory stays flat however many
events are exported).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from klaviyo_kit.infra import JSONValue

__all__ = [
    "AGGREGATE_FIELDS",
    "EVENT_FIELDS",
    "TAIL_ROWS",
    "CSVSink",
    "DailyAggregate",
    "ExportedEvent",
    "JSONLSink",
    "Sink",
]

AGGREGATE_FIELDS = (
    "metric_id",
    "metric_name",
    "day",
    "timezone",
    "count",
    "sum_value",
    "unique_profiles",
)
"""The columns of an aggregate row, in file order."""
EVENT_FIELDS = (
    "event_id",
    "metric_id",
    "profile_id",
    "datetime",
    "value",
    "uuid",
    "properties",
)
"""The columns of an event row, in file order."""
TAIL_ROWS = 1000
"""How many last rows a file sink checks for ids on its first write (one ``get_events`` page)."""


@dataclass(frozen=True, slots=True)
class DailyAggregate:
    """One metric's totals for one day of the account's time zone.

    Attributes:
        metric_id: The metric's id (with ``day``, the row's key).
        metric_name: The metric's name.
        day: The calendar day in ``timezone``.
        timezone: The IANA zone whose day this is.
        count: How many events the metric counted that day.
        sum_value: The sum of the events' ``$value``.
        unique_profiles: How many distinct profiles did it.
    """

    metric_id: str
    metric_name: str
    day: date
    timezone: str
    count: int
    sum_value: float
    unique_profiles: int

    def as_record(self) -> dict[str, JSONValue]:
        """Return the row as JSON values (``day`` in ISO format)."""
        return {
            "metric_id": self.metric_id,
            "metric_name": self.metric_name,
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            "count": self.count,
            "sum_value": self.sum_value,
            "unique_profiles": self.unique_profiles,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> DailyAggregate:
        """Rebuild a row from :meth:`as_record` output (or a CSV row of strings)."""
        return cls(
            metric_id=str(record["metric_id"]),
            metric_name=str(record["metric_name"]),
            day=date.fromisoformat(str(record["day"])),
            timezone=str(record["timezone"]),
            count=int(float(str(record["count"]))),
            sum_value=float(str(record["sum_value"])),
            unique_profiles=int(float(str(record["unique_profiles"]))),
        )


@dataclass(frozen=True, slots=True)
class ExportedEvent:
    """One raw event of an exported metric.

    Attributes:
        event_id: Klaviyo's event id (the row's key).
        metric_id: The event's metric.
        profile_id: Whose event it is.
        time: When it happened (UTC).
        value: Its ``$value``, if it has one.
        uuid: Klaviyo's ``uuid`` attribute of the event.
        properties: Its event properties.
    """

    event_id: str
    metric_id: str
    profile_id: str | None
    time: datetime
    value: float | None
    uuid: str | None = None
    properties: Mapping[str, JSONValue] = field(default_factory=dict)

    def as_record(self) -> dict[str, JSONValue]:
        """Return the row as JSON values (``datetime`` in ISO 8601, properties as an object)."""
        return {
            "event_id": self.event_id,
            "metric_id": self.metric_id,
            "profile_id": self.profile_id,
            "datetime": self.time.isoformat(),
            "value": self.value,
            "uuid": self.uuid,
            "properties": (
                self.properties if isinstance(self.properties, dict) else dict(self.properties)
            ),
        }


@runtime_checkable
class Sink(Protocol):
    """Where exported rows go (files, a SQL table, your warehouse loader)."""

    def write_aggregates(self, rows: Iterable[DailyAggregate]) -> int:
        """Store ``rows``, each replacing any stored row with its ``(metric_id, day)``.

        Returns:
            How many rows were written.
        """

    def write_events(self, events: Iterable[ExportedEvent]) -> int:
        """Append ``events`` durably (one page of them), skipping ids already stored if it can.

        Returns:
            How many events were added.
        """

    def close(self) -> None:
        """Release files or connections; the sink must not be used afterwards."""


def _atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old file or the new one, never half."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class _FileSink:
    """What the CSV and JSONL sinks share: two files in a directory, merged and appended."""

    extension = ""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.aggregates_path = self.directory / f"metric_aggregates.{self.extension}"
        self.events_path = self.directory / f"metric_events.{self.extension}"
        self._tail: frozenset[str] | None = None

    def __repr__(self) -> str:
        """Show the directory."""
        return f"{type(self).__name__}({str(self.directory)!r})"

    def write_aggregates(self, rows: Iterable[DailyAggregate]) -> int:
        """Merge ``rows`` into the aggregates file by ``(metric_id, day)`` and rewrite it."""
        incoming = {(row.metric_id, row.day): row for row in rows}
        if not incoming:
            return 0
        merged = {(row.metric_id, row.day): row for row in self._read_aggregates()}
        merged.update(incoming)
        ordered = [merged[key] for key in sorted(merged, key=lambda k: (k[0], k[1]))]
        _atomic_write(self.aggregates_path, self._render_aggregates(ordered))
        return len(incoming)

    def write_events(self, events: Iterable[ExportedEvent]) -> int:
        """Append ``events`` to the events file, then flush and fsync it.

        The first write of a sink reads the ids of the file's last :data:`TAIL_ROWS` rows and
        skips events among them: a page written just before a crash, and so never
        checkpointed, is not appended twice when the job fetches it again. A torn last line
        (a crash mid-write) is cut off first.
        """
        if self._tail is None:
            self._tail = self._recover_tail()
        tail = self._tail
        written = 0
        new = not self.events_path.exists() or self.events_path.stat().st_size == 0
        fresh = (event for event in events if event.event_id not in tail)
        with self.events_path.open("a", encoding="utf-8", newline="") as out:
            if new:
                out.write(self._header())
            for line in self._render_events(fresh):
                out.write(line)
                written += 1
            out.flush()
            os.fsync(out.fileno())
        return written

    def _recover_tail(self) -> frozenset[str]:
        """Cut a torn last line off the events file and return the ids of its last rows."""
        if not self.events_path.exists():
            return frozenset()
        with self.events_path.open("rb+") as source:
            lines = _last_lines(source, TAIL_ROWS)
        return frozenset(filter(None, (self._event_id(line) for line in lines)))

    def _event_id(self, line: str) -> str | None:
        raise NotImplementedError

    def read_aggregates(self) -> list[DailyAggregate]:
        """Return the stored aggregate rows (for checks and tests), ordered by key."""
        return self._read_aggregates()

    def iter_events(self) -> Iterator[dict[str, object]]:
        """Yield the stored event rows one by one, as the file has them."""
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release: every write opens, flushes and closes its file."""

    def _read_aggregates(self) -> list[DailyAggregate]:
        raise NotImplementedError

    def _render_aggregates(self, rows: list[DailyAggregate]) -> str:
        raise NotImplementedError

    def _header(self) -> str:
        return ""

    def _render_events(self, events: Iterable[ExportedEvent]) -> Iterator[str]:
        raise NotImplementedError


class CSVSink(_FileSink):
    """Write CSV files (with a header row) into ``directory``.

    Event properties are one JSON-encoded column; ``value`` is empty when an event has none.

    Args:
        directory: Created if missing; holds ``metric_aggregates.csv`` and ``metric_events.csv``.

    Example:
        ```python
        job = MetricsExportJob(client, store, CSVSink("exports"), metrics=["Placed Order"])
        ```
    """

    extension = "csv"

    def _read_aggregates(self) -> list[DailyAggregate]:
        if not self.aggregates_path.exists():
            return []
        with self.aggregates_path.open(encoding="utf-8", newline="") as source:
            return [DailyAggregate.from_record(row) for row in csv.DictReader(source)]

    def _render_aggregates(self, rows: list[DailyAggregate]) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=AGGREGATE_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.as_record() for row in rows)
        return out.getvalue()

    def _header(self) -> str:
        return ",".join(EVENT_FIELDS) + "\n"

    def _render_events(self, events: Iterable[ExportedEvent]) -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for event in events:
            record = event.as_record()
            record["properties"] = _ENCODE(record["properties"])
            writer.writerow(["" if record[name] is None else record[name] for name in EVENT_FIELDS])
            yield _take(out)

    def _event_id(self, line: str) -> str | None:
        fields = next(csv.reader([line]), [])
        return fields[0] if fields and fields[0] != EVENT_FIELDS[0] else None

    def iter_events(self) -> Iterator[dict[str, object]]:
        """Yield the stored event rows (CSV strings; ``properties`` decoded) one by one."""
        if not self.events_path.exists():
            return
        with self.events_path.open(encoding="utf-8", newline="") as source:
            for row in csv.DictReader(source):
                yield {**row, "properties": json.loads(row["properties"] or "{}")}


class JSONLSink(_FileSink):
    """Write JSON Lines files (one JSON object per line) into ``directory``.

    Args:
        directory: Created if missing; holds ``metric_aggregates.jsonl`` and
            ``metric_events.jsonl``.
    """

    extension = "jsonl"

    def _read_aggregates(self) -> list[DailyAggregate]:
        if not self.aggregates_path.exists():
            return []
        with self.aggregates_path.open(encoding="utf-8") as source:
            return [DailyAggregate.from_record(json.loads(line)) for line in source if line.strip()]

    def _render_aggregates(self, rows: list[DailyAggregate]) -> str:
        return "".join(_line(row.as_record()) for row in rows)

    def _render_events(self, events: Iterable[ExportedEvent]) -> Iterator[str]:
        for event in events:
            yield _line(event.as_record())

    def _event_id(self, line: str) -> str | None:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        event_id = record.get("event_id") if isinstance(record, dict) else None
        return event_id if isinstance(event_id, str) else None

    def iter_events(self) -> Iterator[dict[str, object]]:
        """Yield the stored event rows one by one."""
        if not self.events_path.exists():
            return
        with self.events_path.open(encoding="utf-8") as source:
            for line in source:
                if line.strip():
                    yield json.loads(line)


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _last_lines(handle: BinaryIO, count: int, block: int = 65_536) -> list[str]:
    """Return up to ``count`` last complete lines of ``handle``, truncating a torn last line."""
    end = handle.seek(0, os.SEEK_END)
    data = b""
    position = end
    while position > 0 and data.count(b"\n") <= count:
        step = min(block, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1  # 0 when the torn line is the whole file
        handle.truncate(position + cut)
        data = data[:cut]
    lines = data.split(b"\n")[:-1]
    if position > 0:
        lines = lines[1:]  # the first one may have started before the block
    return [line.decode("utf-8", errors="replace") for line in lines[-count:]]


def _line(record: Mapping[str, JSONValue]) -> str:
    return _ENCODE(record) + "\n"


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
