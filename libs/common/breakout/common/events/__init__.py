"""Event types, envelopes and their encodings (see `base` for the machinery)."""

from breakout.common.events.base import (
    Event,
    NewEvent,
    RecordedEvent,
    StoredEvent,
    UnknownEventType,
    decode_event,
    decode_wire,
    encode_event,
    encode_wire,
    event_type,
    event_types,
    is_market_data,
    register_upcaster,
    stream_category,
    subject_token,
)
from breakout.common.events.ops import MessageDeadLettered, dead_letter_stream

__all__ = [
    "Event",
    "MessageDeadLettered",
    "NewEvent",
    "RecordedEvent",
    "StoredEvent",
    "UnknownEventType",
    "dead_letter_stream",
    "decode_event",
    "decode_wire",
    "encode_event",
    "encode_wire",
    "event_type",
    "event_types",
    "is_market_data",
    "register_upcaster",
    "stream_category",
    "subject_token",
]
