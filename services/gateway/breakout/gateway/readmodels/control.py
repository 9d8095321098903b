"""What operators asked for: the kill switch, pauses and position closes (`ctl.*` commands).

This is the state of the *requests*; the risk and execution services answer them with their
own events (`risk.*`, `pos.*`), which the `trading` read model shows.
"""

from __future__ import annotations

from collections import deque

import msgspec

from breakout.common.events import RecordedEvent, StoredEvent
from breakout.common.events.ctl_ops import (
    KillLevel,
    KillRequested,
    KillResetRequested,
    PauseRequested,
    PositionCloseRequested,
)
from breakout.gateway.readmodels.base import ReadModel, decode_events, types_filter

KEEP = 100


class KillState(msgspec.Struct, frozen=True, kw_only=True):
    """The kill switch as operators last set it."""

    tripped: bool
    level: KillLevel | None = None
    requested_by: str | None = None
    reason: str = ""
    since: str | None = None  # ISO time of the command (the event's occurred_at)
    position: int = 0


class PauseState(msgspec.Struct, frozen=True, kw_only=True):
    """A pause of one preset (`preset` None: every preset)."""

    preset: str | None
    paused: bool
    requested_by: str
    reason: str
    since: str
    position: int


class ControlBoard(ReadModel):
    """Kill switch, pauses, and the last commands, folded from `ctl.*` events."""

    name = "control"
    subjects = ("ctl.>",)
    store_filter = types_filter(
        (KillRequested, KillResetRequested, PauseRequested, PositionCloseRequested)
    )

    def __init__(self) -> None:
        super().__init__()
        self.kill = KillState(tripped=False)
        self.pauses: dict[str | None, PauseState] = {}
        self.commands: deque[RecordedEvent] = deque(maxlen=KEEP)

    def apply(self, event: RecordedEvent) -> None:
        """Fold one command."""
        data = event.data
        since = event.occurred_at.isoformat()
        if isinstance(data, KillRequested):
            self.kill = KillState(
                tripped=True,
                level=data.level,
                requested_by=data.requested_by,
                reason=data.reason,
                since=since,
                position=event.position,
            )
        elif isinstance(data, KillResetRequested):
            self.kill = KillState(
                tripped=False,
                requested_by=data.requested_by,
                reason=data.reason,
                since=since,
                position=event.position,
            )
        elif isinstance(data, PauseRequested):
            self.pauses[data.preset] = PauseState(
                preset=data.preset,
                paused=data.paused,
                requested_by=data.requested_by,
                reason=data.reason,
                since=since,
                position=event.position,
            )
        self.commands.appendleft(event)

    def save(self) -> object:
        """Kill switch, pauses and the commands kept (oldest first)."""
        return {
            "kill": self.kill,
            "pauses": list(self.pauses.values()),
            "commands": list(reversed(self.commands)),
        }

    def load(self, state: msgspec.Raw) -> None:
        """Rebuild from `save`'s values."""
        saved = msgspec.json.decode(state, type=_ControlSnapshot)
        self.kill = saved.kill
        self.pauses = {p.preset: p for p in saved.pauses}
        for event in decode_events(saved.commands):
            self.commands.appendleft(event)

    def paused(self) -> list[PauseState]:
        """Pauses in force."""
        return [p for p in self.pauses.values() if p.paused]


class _ControlSnapshot(msgspec.Struct):
    kill: KillState
    pauses: list[PauseState]
    commands: list[StoredEvent]
