"""Record a new chaos session: `uv run python -m tests.chaos.record` (needs NATS and Postgres,
or starts them like `make test`). Records the scripted market until the in-memory reference of
the recording holds a breakout signal, and writes tests/chaos/data/session.jsonl.gz."""

from __future__ import annotations

import asyncio
from pathlib import Path

from breakout.common.config import InfraSettings
from breakout.common.devstack import ensure_stack
from tests.chaos.reference import reference_outputs
from tests.chaos.session import RECORDING, load_recording, record_market, save_recording

STACK_DIR = Path(__file__).resolve().parents[2] / ".dev" / "test-stack"
ATTEMPTS = 5


async def _record(infra: InfraSettings) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        recording = await record_market(infra)
        derived = await reference_outputs(recording)
        signals = sum(e.type == "sig.signal_generated.v1" for e in derived)
        print(f"attempt {attempt}: {len(recording.events)} events, {signals} signals")
        if signals:
            save_recording(recording)
            assert len(load_recording().events) == len(recording.events)
            print(f"wrote {RECORDING}")
            return
    raise SystemExit("no signal in any recording: look at the scenario")


def main() -> None:
    """Record and save."""
    with ensure_stack(InfraSettings.from_env(), STACK_DIR) as infra:
        asyncio.run(_record(infra))


if __name__ == "__main__":
    main()
