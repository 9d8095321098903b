"""The chaos run: a recorded session through the real service processes under faults, checked
against a clean reference (see harness.py, report.py).

`make test` runs a short version (CHAOS_FAULTS, default 10); `make chaos` the long one
(CHAOS_FAULTS=120, and a clean run of the processes too, CHAOS_CLEAN=1).
"""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from tests.chaos.harness import FAULT_KINDS, FaultPlan, run_session
from tests.chaos.reference import reference_outputs
from tests.chaos.report import compare, render
from tests.chaos.session import load_recording
from tests.support.servers import postgres_binaries

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
FAULTS = int(os.environ.get("CHAOS_FAULTS", "10"))
INTERVAL_S = float(os.environ.get("CHAOS_INTERVAL_S", "1.5"))
CLEAN = os.environ.get("CHAOS_CLEAN", "") == "1"


@pytest.mark.timeout(900 + FAULTS * 10)
async def test_faults_change_no_decision_and_lose_or_duplicate_nothing(
    infra: InfraSettings, tmp_path: Path
) -> None:
    began = time.monotonic()
    recording = load_recording()  # recorded through ccxt and ingest: tests/chaos/record.py
    reference = await reference_outputs(recording)
    referenced_s = time.monotonic() - began
    # Postgres restarts need a cluster of the test's own; without the binaries, a database on
    # the shared server and every other fault.
    private_pg = postgres_binaries() is not None
    shared_pg = None if private_pg else _admin_url(infra.database_url)
    kinds = FAULT_KINDS if private_pg else tuple(k for k in FAULT_KINDS if k != "postgres")
    plan = FaultPlan(count=FAULTS, interval_s=INTERVAL_S, kinds=kinds)
    chaos = await run_session(recording, tmp_path / "chaos", plan, shared_pg=shared_pg)
    clean = (
        await run_session(recording, tmp_path / "clean", None, shared_pg=shared_pg)
        if CLEAN
        else None
    )
    if dump := os.environ.get("CHAOS_DUMP"):  # to study a failed run's stores offline
        Path(dump).write_bytes(pickle.dumps((reference, chaos, clean)))
    report = compare(reference, chaos, clean)
    text = render(report, chaos, clean, len(recording.events))
    text += f"\nin-memory reference {referenced_s:.1f}s"
    print(text)
    if out := os.environ.get("CHAOS_REPORT"):
        Path(out).write_text(text + "\n")
    assert report.figures["signals_generated"], "the scripted breakout must give a signal"
    assert not report.problems, text


def _admin_url(database_url: str) -> str:
    return database_url.rpartition("/")[0] + "/postgres"
