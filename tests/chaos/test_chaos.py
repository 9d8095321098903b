"""The chaos run: a recorded session through the real service processes under faults, checked
against a clean reference (see harness.py, report.py).

`make test` runs a short version (CHAOS_FAULTS, default 10); `make chaos` the long one
(CHAOS_FAULTS=120, and a clean run of the processes too, CHAOS_CLEAN=1).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from tests.chaos.harness import FaultPlan, run_session
from tests.chaos.reference import reference_outputs
from tests.chaos.report import compare, render
from tests.chaos.session import record_market

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
FAULTS = int(os.environ.get("CHAOS_FAULTS", "10"))
INTERVAL_S = float(os.environ.get("CHAOS_INTERVAL_S", "1.5"))
CLEAN = os.environ.get("CHAOS_CLEAN", "") == "1"


@pytest.mark.timeout(900 + FAULTS * 10)
async def test_faults_change_no_decision_and_lose_or_duplicate_nothing(
    infra: InfraSettings, tmp_path: Path
) -> None:
    began = time.monotonic()
    recording = await record_market(infra)
    recorded_s = time.monotonic() - began
    reference = await reference_outputs(recording)
    referenced_s = time.monotonic() - began - recorded_s
    plan = FaultPlan(count=FAULTS, interval_s=INTERVAL_S)
    chaos = await run_session(recording, tmp_path / "chaos", plan)
    clean = await run_session(recording, tmp_path / "clean", None) if CLEAN else None
    report = compare(reference, chaos, clean)
    text = render(report, chaos, clean, len(recording.events))
    text += f"\nrecording {recorded_s:.1f}s, in-memory reference {referenced_s:.1f}s"
    print(text)
    if out := os.environ.get("CHAOS_REPORT"):
        Path(out).write_text(text + "\n")
    assert report.figures["signals_generated"], "the scripted breakout must give a signal"
    assert not report.problems, text
