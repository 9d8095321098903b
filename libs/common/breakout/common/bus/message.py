"""A message read outside a consumer (a plain subscription or a direct get): nothing to ack."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from breakout.common.bus.port import OutgoingMessage


@dataclass(frozen=True, slots=True)
class PlainMessage:
    """A `BusMessage` that no consumer tracks, so ack/nak/term have nothing to settle."""

    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    sequence: int = 0
    num_delivered: int = 1

    async def ack(self) -> None:
        """Nothing to acknowledge: no consumer delivered this message."""

    async def nak(self, delay_s: float | None = None) -> None:
        """Nothing to redeliver: no consumer delivered this message."""

    async def term(self) -> None:
        """Nothing to terminate: no consumer delivered this message."""


def named(messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    """The messages, each with a `msg_id` (a random one where it had none)."""
    return [
        m if m.msg_id is not None else msgspec.structs.replace(m, msg_id=uuid.uuid4().hex)
        for m in messages
    ]
