"""The machine's Chromium for browser tests: installed from the distribution if absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> tuple[Path | None, str]:
    """The Chromium executable, installing Debian's `chromium` package if needed; else why not."""
    if CHROMIUM.exists():
        return CHROMIUM, ""
    apt = shutil.which("apt-get")
    if apt is None:
        return None, "no /usr/bin/chromium and no apt-get to install it"
    if os.geteuid() != 0:
        return None, "no /usr/bin/chromium and not root, cannot apt-get install chromium"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (
        [apt, "install", "-y", "chromium"],
        [apt, "update"],
        [apt, "install", "-y", "chromium"],
    ):
        result = subprocess.run(step, env=env, capture_output=True, text=True, check=False)
        if step[1] == "install" and result.returncode == 0 and CHROMIUM.exists():
            return CHROMIUM, ""
    return None, f"apt-get install chromium failed: {result.stderr.strip()[-300:]}"
