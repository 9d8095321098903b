"""`python -m tests.support.sample_app NAME`: the sample consumer as a real process (kill tests)."""

from __future__ import annotations

import asyncio
import sys

from breakout.common.config import InfraSettings
from breakout.common.runtime.application import RuntimeConfig
from breakout.common.runtime.bootstrap import run_process_application
from tests.support.sample import RunningTotal

if __name__ == "__main__":
    asyncio.run(
        run_process_application(
            sys.argv[1],
            RunningTotal(),
            InfraSettings.from_env(),
            config=RuntimeConfig(ack_wait_s=2.0, fetch_timeout_s=0.2, snapshot_every=50),
        )
    )
