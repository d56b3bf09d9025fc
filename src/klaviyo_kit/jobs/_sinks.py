"""Where ``MetricsExportJob`` writes: the rows it exports, the ``Sink`` protocol, and file sinks.

A sink takes two kinds of rows. :class:`DailyAggregate` rows are keyed by ``(metric_id, day)``
and *replace* the stored row with the same key, so re-aggregating a day updates it in place.
:class:`ExportedEvent` rows are keyed by ``event_id``; the job never hands a sink an event it
has already exported (it remembers the ids inside its overlap window), and a sink that can look
keys up cheaply (:class:`~klaviyo_kit.jobs.SQLSink`) skips known ids as well.

The file sinks keep ``metric_aggregates.<ext>`` (rewritten whole, atomically, merged by key: it
holds one row per metric and day, so it stays small) and one ``metric_events/<metric_id>.<ext>``
per metric (appended to and flushed page by page: memory stays flat however many events are
exported).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

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
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
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


class _Tail:
    """The ids of the last rows of one events file: at most :data:`TAIL_ROWS`, oldest dropped."""

    __slots__ = ("ids", "order")

    def __init__(self, ids: Iterable[str]) -> None:
        self.order: deque[str] = deque(maxlen=TAIL_ROWS)
        self.ids: set[str] = set()
        for event_id in ids:
            self.add(event_id)

    def add(self, event_id: str) -> None:
        if len(self.order) == TAIL_ROWS:
            self.ids.discard(self.order[0])
        self.order.append(event_id)
        self.ids.add(event_id)


class _FileSink(ABC):
    """What the CSV and JSONL sinks share: aggregates in one file, events in one per metric.

    Each format implements the five abstract methods: how a row is rendered and read back.
    """

    extension = ""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.aggregates_path = self.directory / f"metric_aggregates.{self.extension}"
        self.events_directory = self.directory / "metric_events"
        self._tails: dict[str, _Tail] = {}

    def __repr__(self) -> str:
        """Show the directory."""
        return f"{type(self).__name__}({str(self.directory)!r})"

    def events_path(self, metric_id: str) -> Path:
        """Return the file holding the events of ``metric_id``.

        Raises:
            ValueError: If the id is not made of letters, digits, ``_`` and ``-``.
        """
        if not _SAFE_ID.fullmatch(metric_id):
            raise ValueError(f"cannot name a file after metric id {metric_id!r}")
        return self.events_directory / f"{metric_id}.{self.extension}"

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
        """Append ``events`` to their metrics' files, then flush and fsync each file.

        Events already among a file's last :data:`TAIL_ROWS` rows are skipped: a page written
        just before a crash or a failed checkpoint is not appended twice when the job fetches
        it again. Opening a file for the first time reads those ids from its end, after
        cutting off a torn last line (a crash mid-write).
        """
        written = 0
        files: dict[str, IO[str]] = {}
        try:
            for event in events:
                tail = self._tail(event.metric_id)
                if event.event_id in tail.ids:
                    continue
                out = files.get(event.metric_id)
                if out is None:
                    out = files[event.metric_id] = self._open_events(event.metric_id)
                out.write(self._render_event(event))
                tail.add(event.event_id)
                written += 1
            for out in files.values():
                out.flush()
                os.fsync(out.fileno())
        finally:
            for out in files.values():
                out.close()
        return written

    def iter_events(self) -> Iterator[dict[str, object]]:
        """Yield the stored event rows one by one, metric by metric, in file order."""
        if not self.events_directory.exists():
            return
        for path in sorted(self.events_directory.glob(f"*.{self.extension}")):
            yield from self._read_events(path)

    def _open_events(self, metric_id: str) -> IO[str]:
        path = self.events_path(metric_id)
        path.parent.mkdir(exist_ok=True)
        out = path.open("a", encoding="utf-8", newline="")
        if out.tell() == 0:
            out.write(self._header())
        return out

    def _tail(self, metric_id: str) -> _Tail:
        tail = self._tails.get(metric_id)
        if tail is None:
            tail = self._tails[metric_id] = _Tail(self._recover(self.events_path(metric_id)))
        return tail

    def _recover(self, path: Path) -> list[str]:
        """Cut a torn last line off ``path`` and return the ids of its last rows."""
        if not path.exists():
            return []
        with path.open("rb+") as source:
            lines = _last_lines(source, TAIL_ROWS)
        return [found for found in map(self._event_id, lines) if found]

    @abstractmethod
    def _event_id(self, line: str) -> str | None:
        """The event id of one stored line, or ``None`` for a line that is not a row."""

    @abstractmethod
    def _read_events(self, path: Path) -> Iterator[dict[str, object]]:
        """Yield the stored events of one metric file."""

    @abstractmethod
    def _render_event(self, event: ExportedEvent) -> str:
        """One event as a line of this format."""

    def read_aggregates(self) -> list[DailyAggregate]:
        """Return the stored aggregate rows (for checks and tests), ordered by key."""
        return self._read_aggregates()

    def close(self) -> None:  # noqa: B027 - a real no-op: the files are closed after each write
        """Nothing to release: every write opens, flushes and closes its file."""

    @abstractmethod
    def _read_aggregates(self) -> list[DailyAggregate]:
        """The stored aggregate rows."""

    @abstractmethod
    def _render_aggregates(self, rows: list[DailyAggregate]) -> str:
        """The whole aggregates file for ``rows``."""

    def _header(self) -> str:
        return ""


class CSVSink(_FileSink):
    """Write CSV files (with a header row) into ``directory``.

    Event properties are one JSON-encoded column; ``value`` is empty when an event has none.

    Args:
        directory: Created if missing; holds ``metric_aggregates.csv`` and one
            ``metric_events/<metric_id>.csv`` per metric.

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

    def _render_event(self, event: ExportedEvent) -> str:
        record = event.as_record()
        record["properties"] = _ENCODE(record["properties"])
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(
            ["" if record[name] is None else record[name] for name in EVENT_FIELDS]
        )
        return out.getvalue()

    def _event_id(self, line: str) -> str | None:
        fields = next(csv.reader([line]), [])
        return fields[0] if fields and fields[0] != EVENT_FIELDS[0] else None

    def _read_events(self, path: Path) -> Iterator[dict[str, object]]:
        with path.open(encoding="utf-8", newline="") as source:
            for row in csv.DictReader(source):
                yield {**row, "properties": json.loads(row["properties"] or "{}")}


class JSONLSink(_FileSink):
    """Write JSON Lines files (one JSON object per line) into ``directory``.

    Args:
        directory: Created if missing; holds ``metric_aggregates.jsonl`` and one
            ``metric_events/<metric_id>.jsonl`` per metric.
    """

    extension = "jsonl"

    def _read_aggregates(self) -> list[DailyAggregate]:
        if not self.aggregates_path.exists():
            return []
        with self.aggregates_path.open(encoding="utf-8") as source:
            return [DailyAggregate.from_record(json.loads(line)) for line in source if line.strip()]

    def _render_aggregates(self, rows: list[DailyAggregate]) -> str:
        return "".join(_line(row.as_record()) for row in rows)

    def _render_event(self, event: ExportedEvent) -> str:
        return _line(event.as_record())

    def _event_id(self, line: str) -> str | None:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        event_id = record.get("event_id") if isinstance(record, dict) else None
        return event_id if isinstance(event_id, str) else None

    def _read_events(self, path: Path) -> Iterator[dict[str, object]]:
        with path.open(encoding="utf-8") as source:
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
