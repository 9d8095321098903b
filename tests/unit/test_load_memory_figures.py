"""The load run's memory and CPU figures: a plateau reads as a slope of 0, growth as its MB/min;
CPU as the cores each service kept busy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load import cpu_cores, cpu_s, memory_figures


def test_a_plateau_and_a_leak_per_service() -> None:
    # 31 samples 10 s apart: features fills then holds 300 MB; ingest grows 2 MB a minute.
    samples: list[dict[str, object]] = [{"at": 10.0 * i} for i in range(31)]
    memory = [
        {"breakout-features": min(300.0, 200.0 + 10.0 * i), "breakout-ingest:g1": 100.0 + i / 3}
        for i in range(31)
    ]
    figures = memory_figures(samples, memory)
    slope = figures["load.memory_slope_mb_per_min"]
    assert slope == {
        "breakout-features": 0.0,
        "breakout-ingest:g1": pytest.approx(2.0),
        "all": pytest.approx(2.0),
    }
    assert figures["load.rss_mb_by_service_first_third"]["breakout-features"] == 245.0  # type: ignore[index]
    assert figures["load.rss_mb_by_service_last_third"]["breakout-features"] == 300.0  # type: ignore[index]


def test_cores_per_service_over_the_window() -> None:
    # Over 100 s: signals used 150 CPU-seconds (1.5 cores); risk restarted in the window (its
    # counter is lower at the end), so it counts from the restart; relay started in it.
    before = {"breakout-signals": 20.0, "breakout-risk": 40.0}
    after = {"breakout-signals": 170.0, "breakout-risk": 5.0, "breakout-relay": 25.0}
    cores = cpu_cores(before, after, wall_s=100.0)
    assert cores == {
        "breakout-signals": 1.5,
        "breakout-relay": 0.25,
        "breakout-risk": 0.05,
        "all": 1.8,
    }
    busiest_first = ["breakout-signals", "breakout-relay", "breakout-risk", "all"]
    assert list(cores) == busiest_first


def test_a_service_cpu_time_is_read_from_proc(tmp_path: Path) -> None:
    # A process whose script is named like a service, that burns 0.3 s of CPU and then waits.
    script = tmp_path / "breakout-busy"
    script.write_text(
        "import sys, time\nend = time.process_time() + 0.3\nwhile time.process_time() < end:\n"
        "    pass\nprint('done', flush=True)\nsys.stdin.read()\n"
    )
    busy = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert busy.stdout is not None and busy.stdout.readline() == b"done\n"
        used = cpu_s([busy.pid, os.getpid()])  # this test's own process is no service
        assert list(used) == ["breakout-busy"]
        assert 0.25 <= used["breakout-busy"] < 5
    finally:
        busy.kill()
        busy.wait()
