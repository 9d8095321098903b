"""Risk settings: which presets the risk service sizes signals for (from the command line or env).

`RISK_PRESETS` (comma-separated) is the default list; every preset is loaded and validated at
start, so a typo stops the service instead of silently denying everything.
"""

from __future__ import annotations

import os

from breakout.common.presets import Preset, load_preset


def presets_from_env(names: list[str] | None = None) -> list[Preset]:
    """The presets named (or in `RISK_PRESETS`, default `breakout_v1`), loaded and validated."""
    chosen = names or [n for n in os.environ.get("RISK_PRESETS", "breakout_v1").split(",") if n]
    return [load_preset(name.strip()) for name in chosen]
