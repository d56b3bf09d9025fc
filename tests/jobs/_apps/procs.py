"""Subprocesses for the engine tests: a counting sandbox server and worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

ROOT = Path(__file__).resolve().parents[3]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this checkout's ``src`` and root on the path."""
    env = dict(os.environ)
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), *inherited])
    env.update(extra)
    return env


def start(args: Sequence[str], log: IO[Any] | None = None, **extra: str) -> subprocess.Popen[str]:
    """Start ``args`` in its own process group, in the checkout's root."""
    return subprocess.Popen(
        list(args),
        cwd=ROOT,
        env=child_env(**extra),
        stdout=subprocess.PIPE if log is None else log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Signal ``process``'s group and wait for it; kill it if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    return process.returncode


class ServedSandbox:
    """A counting sandbox in another process (``tests/jobs/_apps/sandbox_server.py``)."""

    def __init__(self, directory: Path) -> None:
        self._out = directory / "sandbox-counts.json"
        self.process = start([sys.executable, "tests/jobs/_apps/sandbox_server.py", str(self._out)])
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"sandbox did not start: {self.url!r}")
        self.counts: dict[str, Any] = {}

    def close(self) -> dict[str, Any]:
        """Stop the server and return its counts (statuses as str keys, ``events``)."""
        if self.process.poll() is None:
            stop(self.process)
            self.counts = json.loads(self._out.read_text())
        return self.counts


@contextlib.contextmanager
def served_sandbox(directory: Path) -> Iterator[ServedSandbox]:
    """Serve a counting sandbox for the block."""
    served = ServedSandbox(directory)
    try:
        yield served
    finally:
        served.close()


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
