"""Suite-wide rules: in CI a skipped test is a failure (a Redis test that skips tested nothing)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# tests/_redis_server.py is shared by the suites (tests has no __init__): import it from the checkout.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests._redis_server import redis_server  # noqa: E402 - needs ROOT on sys.path

__all__ = ["redis_server"]  # a fixture: pytest finds it here, so every suite can request it

POSTGRES_URL = os.environ.get(
    "KLAVIYO_KIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL's URL, once it answers (a skip, fatal under ``CI=true``, if not)."""
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when anything was skipped under ``CI=true``."""
    if not _CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if skipped:
        if reporter is not None:
            reporter.write_line(
                f"CI=true: {skipped} test(s) skipped; skips are failures in CI", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
