"""Suite-wide rules: in CI a skipped test is a failure (a Redis test that skips tested nothing)."""

from __future__ import annotations

import os

import pytest

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
