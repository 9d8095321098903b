"""Operational events of the runtime itself (dead letters)."""

from __future__ import annotations

import uuid

from breakout.common.events.base import Event, subject_token


class MessageDeadLettered(Event, frozen=True, kw_only=True, tag="ops.dead_lettered.v1"):
    """A consumer could not decode or handle a message; it is parked here with the reason."""

    consumer: str
    reason: str
    bus_subject: str
    bus_sequence: int | None = None
    input_event_id: uuid.UUID | None = None
    input_position: int | None = None
    input_type: str | None = None
    payload_b64: str = ""

    def subject(self) -> str:
        """`dlq.<consumer>`."""
        return f"dlq.{subject_token(self.consumer)}"


def dead_letter_stream(consumer: str) -> str:
    """The store stream that holds a consumer's dead letters."""
    return f"dlq-{consumer}"
