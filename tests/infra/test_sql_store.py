"""SQLStateStore specifics: URLs, schema creation and versioning, shared metadata, secrets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.infra._sql_schema import SCHEMA_VERSION


def test_tables_are_created_on_first_use(tmp_path):
    path = tmp_path / "state.sqlite3"
    store = SQLStateStore(f"sqlite:///{path}", table_prefix="app_")
    assert not path.exists() or sa.inspect(store.engine).get_table_names() == []
    assert store.get_cursor("x") is None
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"app_schema", "app_cursors", "app_watermarks", "app_deliveries", "app_audit"} <= names
    store.close()


def test_state_survives_a_new_store_on_the_same_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    first = SQLStateStore(url)
    first.set_cursor("profiles", "page-9")
    first.close()
    second = SQLStateStore(url)
    assert second.get_cursor("profiles") == "page-9"
    second.close()


def test_close_returns_every_pooled_connection(tmp_path):
    store = SQLStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")

    def pool() -> sa.pool.QueuePool:
        current = store.engine.pool
        assert isinstance(current, sa.pool.QueuePool)
        return current

    store.set_cursor("c", "v")
    assert pool().checkedin() >= 1, "the write left an idle pooled connection"
    store.close()
    assert (pool().checkedin(), pool().checkedout()) == (0, 0)


def test_own_tables_join_the_schema(tmp_path):
    store = SQLStateStore(f"sqlite:///{tmp_path / 's.sqlite3'}")
    mine = sa.Table("webhook_events", store.metadata, sa.Column("id", sa.Text, primary_key=True))
    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.execute(sa.insert(mine).values(id="evt_1"))
        assert conn.execute(sa.select(mine.c.id)).scalar_one() == "evt_1"
    store.close()


def test_a_newer_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    store = SQLStateStore(url)
    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE klaviyo_kit_schema SET version = :v"), {"v": SCHEMA_VERSION + 1}
        )
    store.close()
    with pytest.raises(RuntimeError, match="upgrade klaviyo-kit"):
        SQLStateStore(url).get_cursor("x")


def test_in_memory_sqlite_keeps_one_database():
    store = SQLStateStore("sqlite:///:memory:")
    store.set_cursor("a", "1")
    assert store.get_cursor("a") == "1"
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u@h/db", "sqlite and postgresql"), ("sqlite:///:memory:", "table_prefix")],
)
def test_bad_configuration_is_refused(url, message):
    prefix = "Bad-Prefix" if message == "table_prefix" else "ok_"
    with pytest.raises(ValueError, match=message):
        SQLStateStore(url, table_prefix=prefix)


def test_plain_postgresql_urls_use_psycopg_and_hide_the_password():
    store = SQLStateStore("postgresql://kk:s3cret-pw@127.0.0.1:5432/test")
    assert store.engine.dialect.driver == "psycopg"
    assert "s3cret-pw" not in repr(store)
    store.close()


@pytest.mark.postgres
def test_postgres_schema_creation_is_idempotent(postgres_url, unique):
    first = SQLStateStore(postgres_url, table_prefix=unique)
    second = SQLStateStore(postgres_url, table_prefix=unique)
    try:
        first.ensure_schema()
        second.ensure_schema()
        first.set_cursor("c", "1")
        assert second.get_cursor("c") == "1"
    finally:
        first.metadata.drop_all(first.engine)
        first.close()
        second.close()
