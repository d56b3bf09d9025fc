"""One contract suite for every StateStore backend: memory, SQLite file and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from klaviyo_kit.infra import AuditEntry, MemoryStateStore, RecordSync, StateStore

if TYPE_CHECKING:
    from collections.abc import Iterator

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, clock, tmp_path, unique) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStateStore(clock=clock)
        return
    from klaviyo_kit.infra import SQLStateStore

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    sql = SQLStateStore(url, table_prefix=unique, clock=clock)
    yield sql
    sql.metadata.drop_all(sql.engine)
    sql.close()


def test_is_a_state_store(store):
    assert isinstance(store, StateStore)


def test_cursor_round_trip_and_replace(store):
    assert store.get_cursor("profiles") is None
    store.set_cursor("profiles", "c1")
    store.set_cursor("profiles", "c2")
    store.set_cursor("events", "e1")
    assert store.get_cursor("profiles") == "c2"
    assert store.get_cursor("events") == "e1"


def test_cursors_in_bulk_read_and_write_many_at_once(store):
    names = [f"c{i}" for i in range(1200)]  # more than one IN (...) chunk
    store.set_cursors({name: f"v-{name}" for name in names[::2]})
    store.set_cursors({"c0": "replaced"})
    store.set_cursors({})
    found = store.get_cursors([*names, "missing"])
    assert len(found) == 600
    assert found["c0"] == "replaced"
    assert found["c2"] == "v-c2"
    assert "c1" not in found
    assert store.get_cursor("c1198") == "v-c1198"
    assert store.get_cursors([]) == {}


def test_record_syncs_in_bulk_never_move_a_version_backwards(store):
    store.record_sync("profile", "p1", updated_at=T0, source="crm")
    older, newer = T0 - timedelta(seconds=1), T0 + timedelta(microseconds=1)
    ids = {f"q{i}": T0 for i in range(700)}
    store.record_syncs("profile", {"p1": older, "p2": newer, **ids}, source="klaviyo")
    store.record_syncs("profile", {}, source="klaviyo")
    found = store.get_record_syncs("profile", ["p1", "p2", "p3", *ids])
    assert found["p1"] == RecordSync("profile", "p1", T0, "crm")  # the older one lost
    assert found["p2"] == RecordSync("profile", "p2", newer, "klaviyo")
    assert "p3" not in found
    assert len(found) == 702
    assert store.get_record_syncs("event", ["p1"]) == {}
    store.record_syncs("profile", {"p1": newer}, source="klaviyo")
    assert store.get_record_sync("profile", "p1") == RecordSync("profile", "p1", newer, "klaviyo")
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the check
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_syncs("profile", {"p9": naive}, source="crm")


def test_watermark_never_moves_backwards(store):
    assert store.get_watermark("sync") is None
    assert store.advance_watermark("sync", T0) == T0
    later = T0 + timedelta(minutes=5)
    assert store.advance_watermark("sync", later) == later
    assert store.advance_watermark("sync", T0) == later
    assert store.get_watermark("sync") == later
    assert store.get_watermark("other") is None


def test_watermark_keeps_microseconds_and_normalises_zone(store):
    eastern = timezone(timedelta(hours=-5))
    stored = store.advance_watermark("w", T0.astimezone(eastern))
    assert stored == T0
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_rejected(store):
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        store.advance_watermark("w", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_sync("profile", "p1", updated_at=naive, source="crm")


def test_record_sync_is_last_write_wins(store):
    assert store.get_record_sync("profile", "p1") is None
    assert store.record_sync("profile", "p1", updated_at=T0, source="crm")
    assert not store.record_sync("profile", "p1", updated_at=T0, source="klaviyo")
    older = T0 - timedelta(seconds=1)
    assert not store.record_sync("profile", "p1", updated_at=older, source="klaviyo")
    assert store.get_record_sync("profile", "p1") == RecordSync("profile", "p1", T0, "crm")
    newer = T0 + timedelta(microseconds=1)
    assert store.record_sync("profile", "p1", updated_at=newer, source="klaviyo")
    assert store.get_record_sync("profile", "p1") == RecordSync("profile", "p1", newer, "klaviyo")
    assert store.get_record_sync("list", "p1") is None


def test_claim_delivery_dedupes_until_expiry(store, clock):
    assert store.claim_delivery("wh_1", ttl=60)
    assert not store.claim_delivery("wh_1", ttl=60)
    assert store.claim_delivery("wh_2", ttl=60)
    clock.advance(59)
    assert not store.claim_delivery("wh_1", ttl=60)
    clock.advance(1)
    assert store.claim_delivery("wh_1", ttl=60)
    assert not store.claim_delivery("wh_1", ttl=60)


def test_claims_in_bulk_take_only_free_keys_and_expire_keep_and_release(store, clock):
    assert store.claim_delivery("taken", ttl=60)
    keys = [f"d{i}" for i in range(1200)]  # more than one statement's chunk
    assert store.claim_deliveries([*keys, "taken", "d0"], ttl=10) == set(keys)
    assert store.claim_deliveries(["d1", "fresh"], ttl=10) == {"fresh"}
    assert store.claim_deliveries([], ttl=10) == set()
    store.keep_deliveries(["d1", "d2"], ttl=600)
    store.release_deliveries(["d3", "never-claimed"])
    clock.advance(11)  # the 10-second claims lapse; the kept ones hold
    assert store.claim_deliveries(["d0", "d1", "d2", "d3", "taken"], ttl=10) == {"d0", "d3"}
    clock.advance(600)
    assert store.claim_deliveries(["d1", "d2"], ttl=10) == {"d1", "d2"}
    with pytest.raises(ValueError, match="ttl must be positive"):
        store.claim_deliveries(["x"], ttl=0)
    with pytest.raises(ValueError, match="ttl must be positive"):
        store.keep_deliveries(["x"], ttl=-1)


def test_release_delivery_allows_a_retry(store):
    assert store.claim_delivery("wh_1", ttl=3600)
    store.release_delivery("wh_1")
    store.release_delivery("never-claimed")
    assert store.claim_delivery("wh_1", ttl=3600)


def test_claim_ttl_must_be_positive(store):
    with pytest.raises(ValueError, match="ttl"):
        store.claim_delivery("wh_1", ttl=0)


def test_audit_is_append_only_and_ordered(store):
    entries = [
        AuditEntry(T0 + timedelta(seconds=2), "received", "webhook.profile", "p2", {"n": 2}),
        AuditEntry(T0, "sent", "profiles.upsert", "p1", {"fields": ["email"], "ok": True}),
        AuditEntry(T0 + timedelta(seconds=1), "sent", "events.track", "p1"),
    ]
    for entry in entries:
        store.append_audit(entry)
    got = list(store.iter_audit())
    assert [e.operation for e in got] == ["profiles.upsert", "events.track", "webhook.profile"]
    assert got[0] == entries[1]
    assert dict(got[0].detail) == {"fields": ["email"], "ok": True}
    since = [e.subject for e in store.iter_audit(since=T0 + timedelta(seconds=1))]
    assert since == ["p1", "p2"]
    assert [e.operation for e in store.iter_audit(limit=1)] == ["profiles.upsert"]
    assert list(store.iter_audit(limit=0)) == []
    with pytest.raises(ValueError, match="limit"):
        list(store.iter_audit(limit=-1))


def test_audit_detail_masks_keys(store):
    secret = "pk_" + "x" * 30
    store.append_audit(AuditEntry(T0, "sent", "op", "s", {"note": f"key {secret}"}))
    (entry,) = store.iter_audit()
    assert secret not in str(entry)
    assert entry.detail["note"] == "key pk_***"
