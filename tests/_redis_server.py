"""A private ``redis-server`` for tests that take Redis away and bring it back.

The shared test Redis (port 6379) must never be stopped; outage, freeze and restart tests run
their own server on a free loopback port instead::

    with RedisServer() as server:          # started; answers PING
        client = redis.Redis.from_url(server.url)
        server.stop()                      # outage: connections are refused
        server.start()                     # back on the same port, with no data (--save "")
        server.pause()                     # frozen: connects and replies time out
        server.resume()

In a test, request the ``redis_server`` fixture (import it into a ``conftest.py``): it skips
when ``redis-server`` is not installed, fails instead under ``CI=true``, and always cleans up.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["RedisServer", "RedisServerError", "find_redis_server", "redis_server"]

_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_POLL = 0.02
_STOP_TIMEOUT = 10.0
_PORT_ATTEMPTS = 3
_READY = "Ready to accept connections"
_IN_USE = "Address already in use"


class RedisServerError(RuntimeError):
    """The private server could not be started (the message ends with its log)."""


def find_redis_server() -> str | None:
    """Return the path of the ``redis-server`` executable, or ``None`` if it is not installed."""
    return shutil.which("redis-server")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` subprocess on one loopback port, to stop, freeze and restart at will.

    The server keeps nothing on disk (``--save "" --appendonly no``), so a restart comes back
    empty. Every method waits until the change took effect: :meth:`start` returns once the
    server answers ``PING``, :meth:`stop` once the process has exited.

    Args:
        port: The port to listen on; by default a free one is picked (and kept across restarts).
        host: The address to bind.
        executable: The ``redis-server`` to run; by default the one on ``PATH``.
        args: Extra command-line options, e.g. ``("--requirepass", "secret")``.
        startup_timeout: Seconds :meth:`start` waits for ``PING`` to be answered.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        executable: str | None = None,
        args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        found = executable or find_redis_server()
        if found is None:
            raise RedisServerError("redis-server is not installed (apt-get install redis-server)")
        self.host = host
        self._pick_port = port is None
        self.port = _free_port(host) if port is None else port
        self._executable = found
        self._args = tuple(args)
        self._startup_timeout = startup_timeout
        self._dir = Path(tempfile.mkdtemp(prefix="kk-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._log_offset = 0

    def __repr__(self) -> str:
        state = "paused" if self._paused else "running" if self.running else "stopped"
        return f"RedisServer({self.host}:{self.port}, {state})"

    @property
    def url(self) -> str:
        """The server's URL, database 0 (append ``?socket_timeout=…`` and the like as needed)."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is alive (paused counts as alive)."""
        return self._process is not None and self._process.poll() is None

    @property
    def paused(self) -> bool:
        """Whether the process is frozen by :meth:`pause`."""
        return self._paused

    @property
    def log(self) -> str:
        """The server's log so far."""
        path = self._dir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def ping(self, timeout: float = 0.5) -> bool:
        """Return whether a server on the port answers ``PING`` within ``timeout`` seconds.

        A server that asks for a password (``-NOAUTH``) counts as answering.
        """
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def start(self) -> None:
        """Start the server (again, on the same port) and wait until it answers ``PING``.

        Does nothing if it is already running; resumes it if it is paused.

        Raises:
            RedisServerError: If it exits or does not answer within ``startup_timeout``.
        """
        if self.running:
            self.resume()
            return
        attempts = _PORT_ATTEMPTS if self._pick_port else 1
        for attempt in range(1, attempts + 1):
            if self._spawn():
                return
            log = self._log_since_start()
            if attempt == attempts or _IN_USE not in log:
                msg = f"redis-server on port {self.port} did not start; its log:\n{log[-2000:]}"
                raise RedisServerError(msg)
            # Someone else took the port we picked between picking and binding: take another.
            self.port = _free_port(self.host)

    def _spawn(self) -> bool:
        """Run the server; return whether it answers before ``startup_timeout`` (else stop it)."""
        command = [
            self._executable,
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._dir),
            "--logfile",
            str(self._dir / "redis.log"),
            *self._args,
        ]
        self._log_offset = len(self.log)
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            # Our process says it is ready (not another server on the port) and it answers.
            if _READY in self._log_since_start() and self.ping(timeout=_POLL * 10):
                return True
            time.sleep(_POLL)
        self.stop(kill=True)
        return False

    def _log_since_start(self) -> str:
        return self.log[self._log_offset :]

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL to simulate a crash) and wait until it exited.

        Does nothing if it is not running. Data is gone: the server keeps nothing on disk.
        """
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            if self._paused:
                process.send_signal(signal.SIGCONT)  # a stopped process acts on SIGTERM only now
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None
        self._paused = False

    def restart(self) -> None:
        """Stop the server and start it again on the same port (empty)."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): it accepts no work, so clients time out.

        Raises:
            RedisServerError: If the server is not running.
        """
        if self._process is None or not self.running:
            raise RedisServerError("cannot pause a redis-server that is not running")
        if not self._paused:
            self._process.send_signal(signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        """Let a paused process go on (SIGCONT); does nothing if it is not paused."""
        if self._process is not None and self._paused:
            self._process.send_signal(signal.SIGCONT)
            self._paused = False

    def close(self) -> None:
        """Stop the server and delete its directory; safe to call twice."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and clean up."""
        self.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private, started :class:`RedisServer`; stopped and removed after the test.

    Skips when ``redis-server`` is not installed; under ``CI=true`` that is a failure instead.
    """
    if find_redis_server() is None:
        if _CI:
            pytest.fail("redis-server is required under CI=true (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    with RedisServer() as server:
        yield server
