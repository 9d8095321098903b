"""Run the system's services as child processes: report, restart with backoff, stop cleanly.

Each service runs in its own session (so its own process group): a Ctrl-C aimed at the
terminal reaches only this supervisor, which then stops the services in an orderly way, and
stopping a group also ends anything the service itself started. Nothing restarts silently:
every start, readiness, exit and restart is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from breakout.common.devstack.services import USAGE_ERROR, ServiceSpec

STOP_TIMEOUT_S = 15.0
READY_TIMEOUT_S = 90.0
# A service that needs another waits for it as long as that one may take to answer; the table
# of services (and the dashboard's address) waits at most `STATUS_WAIT_S` after the last start.
DEPENDENCY_WAIT_S = READY_TIMEOUT_S
STATUS_WAIT_S = 30.0
PR_SET_PDEATHSIG = 1

Report = Callable[[str, str, str], None]
"""`report(service, status, detail)`: how the supervisor tells the terminal what happens."""


@dataclass
class Backoff:
    """Restart delays that double after each quick crash and reset after a long healthy run."""

    initial_s: float = 1.0
    max_s: float = 30.0
    reset_after_s: float = 60.0
    _next_s: float = field(default=0.0, init=False)

    def delay(self, ran_for_s: float) -> float:
        """The delay before the next start, given how long the last run lasted."""
        if ran_for_s >= self.reset_after_s or self._next_s == 0.0:
            self._next_s = self.initial_s
        else:
            self._next_s = min(self._next_s * 2, self.max_s)
        return self._next_s


def _die_with_parent() -> None:
    # Linux: if the supervisor is SIGKILLed (no chance to clean up), the kernel sends the
    # service SIGTERM, so no orphan keeps running. Best effort elsewhere.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def log_tail(path: Path, lines: int = 8) -> str:
    """The last lines of a service's log."""
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class ServiceRunner:
    """Keeps one service running until `stopping` is set, restarting it with backoff."""

    def __init__(
        self,
        spec: ServiceSpec,
        env: Mapping[str, str],
        log_dir: Path,
        report: Report,
        stopping: asyncio.Event,
        *,
        stop_timeout_s: float = STOP_TIMEOUT_S,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.spec = spec
        self.stop_timeout_s = stop_timeout_s
        self.backoff = backoff  # a chaos harness restarts faster than an operator's machine
        self.env = {**env, **spec.env}
        self.log_path = log_dir / f"{spec.name}.log"
        self.report = report
        self.stopping = stopping
        self.process: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.restarts = 0
        self.gave_up = ""

    async def run(self) -> None:
        """Start, watch, and restart the service until stopped (or it cannot be fixed by one)."""
        backoff = self.backoff()
        while not self.stopping.is_set():
            started = time.monotonic()
            code = await self._run_once()
            if self.stopping.is_set():
                return
            tail = log_tail(self.log_path)
            self.report(self.spec.name, "exited", f"code {code}; last output:\n{tail}")
            if code == USAGE_ERROR:
                self.gave_up = "usage error (exit 2): a restart cannot fix its command line"
                self.report(self.spec.name, "not restarted", self.gave_up)
                return
            wait_s = backoff.delay(time.monotonic() - started)
            self.restarts += 1
            self.report(self.spec.name, "restarting", f"in {wait_s:.0f}s (restart {self.restarts})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait_s)

    async def _run_once(self) -> int:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        if self.stopping.is_set():  # stopped while it was being spawned: stop it too
            _signal_group(self.process.pid, signal.SIGTERM)
        self.report(self.spec.name, "started", f"pid {self.process.pid}, log {self.log_path}")
        watcher = asyncio.create_task(self._watch_ready())
        try:
            return await self.process.wait()
        finally:
            watcher.cancel()

    async def _watch_ready(self) -> None:
        url = self.spec.health_url
        if url is None:
            self.ready.set()
            return
        deadline = time.monotonic() + READY_TIMEOUT_S
        warned = False
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        self.ready.set()
                        self.report(self.spec.name, "ready", url)
                        return
                if not warned and time.monotonic() > deadline:
                    warned = True
                    why = f"{url} not answering 200 after {READY_TIMEOUT_S:.0f}s; still waiting"
                    self.report(self.spec.name, "not ready", why)
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        """SIGTERM the service's process group, wait, then SIGKILL whatever is left of it."""
        process = self.process
        if process is None:
            return
        pgid = process.pid  # its own session: the group id is its pid
        _signal_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout_s)
        except TimeoutError:
            self.report(self.spec.name, "killed", f"did not stop within {self.stop_timeout_s:.0f}s")
        # Also reaps anything the service started and left in its group.
        _signal_group(pgid, signal.SIGKILL)
        await process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def run_services(
    specs: Sequence[ServiceSpec],
    env: Mapping[str, str],
    log_dir: Path,
    report: Report,
    *,
    stopping: asyncio.Event,
    on_started: Callable[[Sequence[ServiceRunner]], None] = lambda _runners: None,
) -> list[ServiceRunner]:
    """Run every spec until `stopping` is set; then stop them all and return their runners.

    `on_started` is called once every service has been started (ready or not).
    """
    runners = [ServiceRunner(spec, env, log_dir, report, stopping) for spec in specs]
    by_name = {r.spec.name: r for r in runners}
    tasks: list[asyncio.Task[None]] = []

    async def start(runner: ServiceRunner) -> None:
        # Each service starts as soon as what it needs answers (`starts_after`), waiting at
        # most `DEPENDENCY_WAIT_S` for it (then it starts anyway and its own restarts take
        # over); the rest start at once. The store and the bus are up already and every
        # consumer catches up from the store, so nothing else orders them.
        needs = [by_name[n] for n in runner.spec.starts_after if n in by_name]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(_first(r.ready, stopping) for r in needs)), DEPENDENCY_WAIT_S
            )
        if not stopping.is_set():
            tasks.append(asyncio.create_task(runner.run(), name=runner.spec.name))

    await asyncio.gather(*(start(r) for r in runners))
    if not stopping.is_set():
        # The table shows who answers: give the last ones started a moment to.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(_first(r.ready, stopping) for r in runners)), STATUS_WAIT_S
            )
    if not stopping.is_set():
        on_started(runners)
    await stopping.wait()
    for layer in sorted({r.spec.layer for r in runners}, reverse=True):
        await asyncio.gather(*(r.stop() for r in runners if r.spec.layer == layer))
    await asyncio.gather(*tasks)
    return runners


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
