"""The rich console the signals commands print with."""

from __future__ import annotations

import sys

from rich.console import Console


def console() -> Console:
    """A console that does not squeeze wide tables when output is piped (no terminal width)."""
    return Console(width=None if sys.stdout.isatty() else 1000)
