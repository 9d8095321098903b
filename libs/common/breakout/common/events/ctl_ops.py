"""Operator commands to the trading services (written by the gateway, the CLI, or a service).

Subjects: `ctl.kill`, `ctl.kill_reset`, `ctl.close_position`, `ctl.pause`. Streams: `ctl-<kind>`
(`ctl-kill`, ...), one per command kind, so every command is in one total order per kind. A
command is a request: the risk service answers a kill with `KillSwitchTripped` / `KillSwitchReset`
and execution answers a close with the position's own events; the request itself decides
nothing.

Kill levels (what each stops is written down in docs/risk.md):
- `entries`: no new entries; open positions keep being managed to their exits.
- `flatten`: no new entries, cancel every working order, close every position at market, halt.
"""

from __future__ import annotations

from typing import Literal

from breakout.common.events.base import Event

KillLevel = Literal["entries", "flatten"]


def ctl_stream(kind: str) -> str:
    """The store stream of one kind of operator command, e.g. `ctl-kill`."""
    return f"ctl-{kind}"


class KillRequested(Event, frozen=True, kw_only=True, tag="ctl.kill.v1"):
    """Trip the kill switch at `level`."""

    level: KillLevel
    requested_by: str
    reason: str = ""

    def subject(self) -> str:
        """`ctl.kill`."""
        return "ctl.kill"


class KillResetRequested(Event, frozen=True, kw_only=True, tag="ctl.kill_reset.v1"):
    """Reset a tripped kill switch (entries allowed again)."""

    requested_by: str
    reason: str = ""

    def subject(self) -> str:
        """`ctl.kill_reset`."""
        return "ctl.kill_reset"


class PositionCloseRequested(Event, frozen=True, kw_only=True, tag="ctl.close_position.v1"):
    """Close one position at market."""

    position_id: str
    requested_by: str
    reason: str = ""

    def subject(self) -> str:
        """`ctl.close_position`."""
        return "ctl.close_position"


class PauseRequested(Event, frozen=True, kw_only=True, tag="ctl.pause.v1"):
    """Pause (or resume) new signals for one preset, or for all when `preset` is None."""

    paused: bool
    preset: str | None = None
    requested_by: str
    reason: str = ""

    def subject(self) -> str:
        """`ctl.pause`."""
        return "ctl.pause"
