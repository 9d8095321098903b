"""The chaos run: the same recorded session once clean and once under faults (see harness.py).

`make test` runs a short version; `make chaos` the long one (CHAOS_FAULTS, default 120).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from tests.chaos.harness import FaultPlan, run_session
from tests.chaos.report import compare, render
from tests.chaos.session import record_market

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
FAULTS = int(os.environ.get("CHAOS_FAULTS", "10"))
INTERVAL_S = float(os.environ.get("CHAOS_INTERVAL_S", "1.5"))


@pytest.mark.timeout(600 + FAULTS * 8)
async def test_faults_change_no_decision_and_lose_or_duplicate_nothing(
    infra: InfraSettings, tmp_path: Path
) -> None:
    recording = await record_market(infra)
    clean = await run_session(recording, tmp_path / "clean", None)
    chaos = await run_session(
        recording, tmp_path / "chaos", FaultPlan(count=FAULTS, interval_s=INTERVAL_S)
    )
    report = compare(clean, chaos)
    text = render(report, clean, chaos, len(recording.events))
    print(text)
    out = os.environ.get("CHAOS_REPORT")
    if out:
        Path(out).write_text(text)
    assert not report.problems, text
