"""An unreachable database is BackendUnavailableError; a broken statement stays what it is."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from klaviyo_kit.errors import BackendUnavailableError, KlaviyoError
from klaviyo_kit.infra import AuditEntry, SQLStateStore

if TYPE_CHECKING:
    from collections.abc import Callable

PASSWORD = "s3cret-pw"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def store_operations(store: SQLStateStore) -> dict[str, Callable[[], Any]]:
    entry = AuditEntry(at=WHEN, direction="sent", operation="profiles.upsert", subject="p1")
    return {
        "ensure_schema": store.ensure_schema,
        "get_cursor": lambda: store.get_cursor("c"),
        "set_cursor": lambda: store.set_cursor("c", "v"),
        "get_cursors": lambda: store.get_cursors(["c"]),
        "set_cursors": lambda: store.set_cursors({"c": "v"}),
        "get_watermark": lambda: store.get_watermark("w"),
        "advance_watermark": lambda: store.advance_watermark("w", WHEN),
        "get_record_sync": lambda: store.get_record_sync("profile", "p1"),
        "record_sync": lambda: store.record_sync(
            "profile", "p1", updated_at=WHEN, source="klaviyo"
        ),
        "get_record_syncs": lambda: store.get_record_syncs("profile", ["p1"]),
        "record_syncs": lambda: store.record_syncs("profile", {"p1": WHEN}, source="klaviyo"),
        "claim_delivery": lambda: store.claim_delivery("d1", ttl=60),
        "release_delivery": lambda: store.release_delivery("d1"),
        "append_audit": lambda: store.append_audit(entry),
        "iter_audit": lambda: list(store.iter_audit()),
    }


def assert_unavailable(operation: Callable[[], Any]) -> BackendUnavailableError:
    with pytest.raises(KlaviyoError) as caught:
        operation()
    error = caught.value
    assert type(error) is BackendUnavailableError
    assert error.backend == "sql store"
    assert isinstance(error.__cause__, sa.exc.OperationalError)
    return error


def test_unreachable_postgres_is_backend_unavailable():
    port = free_port()  # nothing listens there
    url = f"postgresql://kk:{PASSWORD}@127.0.0.1:{port}/test?connect_timeout=2"
    store = SQLStateStore(url)
    for name, operation in store_operations(store).items():
        started = time.monotonic()
        error = assert_unavailable(operation)
        assert time.monotonic() - started < 2.0, name
        text = str(error)
        assert f"127.0.0.1:{port}/test" in text, name
        assert "OperationalError" in text
        assert PASSWORD not in text
        assert PASSWORD not in repr(error)
    store.close()


def test_unopenable_sqlite_file_is_backend_unavailable(tmp_path):
    store = SQLStateStore(f"sqlite:///{tmp_path / 'no-such-dir' / 'state.sqlite3'}")
    error = assert_unavailable(lambda: store.set_cursor("c", "v"))
    assert "unable to open database file" in str(error)
    store.close()


def test_postgres_connect_timeout_is_bounded_by_default():
    store = SQLStateStore("postgresql://kk@127.0.0.1:1/test")  # the URL sets no timeout
    with pytest.MonkeyPatch.context() as patch:
        seen: dict[str, Any] = {}

        def fake_connect(*args: Any, **kwargs: Any) -> Any:
            seen.update(kwargs)
            raise store.engine.dialect.loaded_dbapi.OperationalError("refused")

        patch.setattr(store.engine.dialect, "connect", fake_connect)
        assert_unavailable(lambda: store.get_cursor("c"))
    assert 0 < seen["connect_timeout"] <= 10
    store.close()


def test_the_url_connect_timeout_wins():
    store = SQLStateStore("postgresql://kk@127.0.0.1:1/test?connect_timeout=3")
    with pytest.MonkeyPatch.context() as patch:
        seen: dict[str, Any] = {}

        def fake_connect(*args: Any, **kwargs: Any) -> Any:
            seen.update(kwargs)
            raise store.engine.dialect.loaded_dbapi.OperationalError("refused")

        patch.setattr(store.engine.dialect, "connect", fake_connect)
        assert_unavailable(lambda: store.get_cursor("c"))
    assert str(seen["connect_timeout"]) == "3"
    store.close()


@pytest.mark.postgres
def test_a_broken_statement_is_not_an_outage(postgres_url, unique):
    prefix = unique.lower()
    store = SQLStateStore(postgres_url, table_prefix=prefix)
    store.set_cursor("c", "v")
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {prefix}cursors"))
        with pytest.raises(sa.exc.ProgrammingError):
            store.get_cursor("c")
    finally:
        with store.engine.begin() as conn:
            for table in reversed(store.metadata.sorted_tables):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))
        store.close()
