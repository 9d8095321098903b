"""The supervisor over real child processes: crashes are reported and restarted, a usage error
is not, readiness is seen, and stopping ends the service's whole process group."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest

from breakout.common.devstack.processes import free_port
from breakout.common.devstack.services import ServiceSpec
from breakout.common.devstack.supervisor import ServiceRunner, run_services

Reports = list[tuple[str, str, str]]


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", textwrap.dedent(code))


def _runner(spec: ServiceSpec, tmp_path: Path, stop_timeout_s: float = 5.0) -> tuple[
    ServiceRunner, Reports, asyncio.Event
]:  # fmt: skip
    reports: Reports = []
    stopping = asyncio.Event()
    runner = ServiceRunner(
        spec,
        dict(os.environ),
        tmp_path,
        lambda *report: reports.append(report),
        stopping,
        stop_timeout_s=stop_timeout_s,
    )
    return runner, reports, stopping


async def _until(check: object, what: str) -> None:
    for _ in range(300):
        if callable(check) and check():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{what} never happened")


def _statuses(reports: Reports) -> list[str]:
    return [status for _name, status, _detail in reports]


async def test_a_crash_is_reported_with_its_output_and_restarted(tmp_path: Path) -> None:
    spec = ServiceSpec("crashy", _python("print('boom: no config'); raise SystemExit(3)"))
    runner, reports, stopping = _runner(spec, tmp_path)
    task = asyncio.create_task(runner.run())
    await _until(lambda: _statuses(reports).count("started") >= 2, "a restart")
    stopping.set()
    await runner.stop()
    await task
    exited = next(detail for _n, status, detail in reports if status == "exited")
    assert "code 3" in exited and "boom: no config" in exited
    assert "restarting" in _statuses(reports)
    assert runner.restarts >= 1


async def test_a_usage_error_is_not_restarted(tmp_path: Path) -> None:
    spec = ServiceSpec("misused", _python("raise SystemExit(2)"))
    runner, reports, _stopping = _runner(spec, tmp_path)
    await runner.run()  # returns by itself: nothing to retry
    assert _statuses(reports) == ["started", "exited", "not restarted"]
    assert "usage error" in runner.gave_up


async def test_readiness_is_reported_once_health_answers(tmp_path: Path) -> None:
    port = free_port()
    server = f"""
        import http.server as h
        h.HTTPServer(("127.0.0.1", {port}), h.SimpleHTTPRequestHandler).serve_forever()
    """
    spec = ServiceSpec("web", _python(server), health_url=f"http://127.0.0.1:{port}/")
    reports: Reports = []
    stopping = asyncio.Event()

    def report(name: str, status: str, detail: str) -> None:
        reports.append((name, status, detail))
        if status == "ready":
            stopping.set()

    runners = await run_services([spec], dict(os.environ), tmp_path, report, stopping=stopping)
    assert runners[0].ready.is_set()
    assert _statuses(reports)[:2] == ["started", "ready"]


async def test_a_service_starts_once_what_it_needs_answers_and_the_others_at_once(
    tmp_path: Path,
) -> None:
    port = free_port()
    # The "exchange" answers only after a second; the client needs it, the other does not.
    server = f"""
        import http.server as h, time
        time.sleep(1.0)
        h.HTTPServer(("127.0.0.1", {port}), h.SimpleHTTPRequestHandler).serve_forever()
    """
    idle = _python("import time; time.sleep(300)")
    specs = [
        ServiceSpec("client", idle, starts_after=("exchange", "not-running")),
        ServiceSpec("other", idle),
        ServiceSpec("exchange", _python(server), health_url=f"http://127.0.0.1:{port}/"),
    ]
    reports: Reports = []
    stopping = asyncio.Event()

    def report(name: str, status: str, detail: str) -> None:
        reports.append((name, status, detail))

    def started(_runners: object) -> None:
        stopping.set()

    await run_services(
        specs, dict(os.environ), tmp_path, report, stopping=stopping, on_started=started
    )
    events = [(name, status) for name, status, _ in reports if status in ("started", "ready")]
    # A dependency that is not part of the run (`not-running`) is no reason to wait.
    assert events.index(("exchange", "ready")) < events.index(("client", "started"))
    assert events.index(("other", "started")) < events.index(("exchange", "ready"))


async def test_stopping_ends_the_whole_process_group(tmp_path: Path) -> None:
    # The service ignores SIGTERM and leaves a grandchild behind: both must go.
    code = """
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "300"])
        print(child.pid, flush=True)
        time.sleep(300)
    """
    spec = ServiceSpec("stubborn", _python(code))
    runner, reports, stopping = _runner(spec, tmp_path, stop_timeout_s=1.0)
    task = asyncio.create_task(runner.run())
    log = tmp_path / "stubborn.log"
    await _until(lambda: log.exists() and log.read_text().strip(), "the grandchild's pid")
    grandchild = int(log.read_text().split()[0])
    assert runner.process is not None
    service = runner.process.pid
    stopping.set()
    await runner.stop()
    await task
    assert "killed" in _statuses(reports)
    for pid in (service, grandchild):
        await _until(lambda p=pid: _gone(p), f"pid {pid} gone")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
