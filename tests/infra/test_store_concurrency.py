"""8 threads in each of 2 processes hammer one SQL store; dedupe and watermarks stay correct."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

HAMMER = Path(__file__).with_name("_store_hammer.py")
ROUNDS = 60
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def test_threads_and_processes_keep_dedupe_and_watermarks(store_url, unique):
    from klaviyo_kit.infra import SQLStateStore

    # The children create the schema themselves, racing each other on first use.
    store = SQLStateStore(store_url, table_prefix=unique)
    try:
        children = [
            subprocess.Popen(
                [sys.executable, str(HAMMER), store_url, unique, str(worker), str(ROUNDS)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for worker in (1, 2)
        ]
        results: dict[str, dict[str, list[list[int]]]] = {}
        for child in children:
            out, _ = child.communicate(timeout=240)
            assert child.returncode == 0
            results.update(json.loads(out))
        assert len(results) == 16

        claims = Counter(i for r in results.values() for i in r["claimed"])
        assert claims == Counter(range(ROUNDS)), "each delivery claimed exactly once"

        all_marks = [m for r in results.values() for m in r["marks"]]
        highest = max(micros for micros, _ in all_marks)
        assert store.get_watermark("wm") == BASE + timedelta(microseconds=highest)
        for r in results.values():
            returned = [stored for _, stored in r["marks"]]
            assert returned == sorted(returned), "a watermark never moves backwards"
            assert all(stored >= micros for micros, stored in r["marks"])

        for record in range(5):
            calls = [s for r in results.values() for s in r["synced"] if s[0] == record]
            newest = max(micros for _, micros, _ in calls)
            assert [won for _, micros, won in calls if micros == newest] == [True]
            stored = store.get_record_sync("profile", f"p{record}")
            assert stored is not None
            assert stored.updated_at == BASE + timedelta(microseconds=newest)
    finally:
        store.metadata.drop_all(store.engine)
        store.close()
