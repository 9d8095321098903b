"""Event machinery: the base of every event type, the envelope, the registry and upcasting.

Every event type is a frozen msgspec Struct with a stable tag `<domain>.<event>.v<N>`. The tag is
the `type` field of the JSON written to the store and the bus. A changed meaning gets a new tag;
the old tag stays decodable through an upcaster, so an old log always replays.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

_TAG_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[0-9]+$")
_SUBJECT_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+$")

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(ValueError):
    """The log or the bus holds a type tag this code has no class or upcaster for."""


class Event(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    tag_field="type",
):
    """Base of every event type. Subclasses pass `tag="domain.event.vN"` and define `subject()`."""

    @classmethod
    def type_tag(cls) -> str:
        """The versioned tag of this event type."""
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        return tag

    def subject(self) -> str:
        """The NATS subject this event is published on (without any deployment prefix)."""
        raise NotImplementedError(f"{type(self).__name__} does not define subject()")


def is_valid_tag(tag: object) -> bool:
    """Whether `tag` looks like `domain.event.vN` (lower-case tokens, a version last)."""
    return isinstance(tag, str) and _TAG_RE.match(tag) is not None


def event_types() -> dict[str, type[Event]]:
    """Every event type defined so far, by tag (subclasses are found by walking the hierarchy)."""
    found: dict[str, type[Event]] = {}
    pending: list[type[Event]] = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        tag = cls.__struct_config__.tag
        if not is_valid_tag(tag):
            raise TypeError(f"{cls.__name__}: tag must look like 'domain.event.v1', got {tag!r}")
        assert isinstance(tag, str)
        if tag in found and found[tag] is not cls:
            raise TypeError(f"{cls.__name__}: tag {tag!r} is already used by {found[tag].__name__}")
        found[tag] = cls
    return found


_registry: dict[str, type[Event]] = {}


def event_type(tag: str) -> type[Event] | None:
    """The class registered for `tag`, or None (the registry refreshes when a type is new)."""
    cls = _registry.get(tag)
    if cls is None:
        _registry.clear()
        _registry.update(event_types())
        cls = _registry.get(tag)
    return cls


def subject_token(value: str) -> str:
    """Validate one subject token (a symbol, an exchange): no dots, spaces or wildcards."""
    if not _SUBJECT_TOKEN_RE.match(value):
        raise ValueError(f"{value!r} is not a valid subject token")
    return value


def stream_category(stream: str) -> str:
    """The category of a stream named `<category>-<id>` (the whole name if it has no id)."""
    return stream.split("-", 1)[0]


def is_market_data(stream: str) -> bool:
    """Market-data streams (`md.*`) are high-volume, compact and archived by time."""
    return stream.startswith("md.")


# ---------------------------------------------------------------------------------------------
# Upcasting: old tags decode into the current type.

_upcasters: dict[str, tuple[str, Upcaster]] = {}


def register_upcaster(old_tag: str, new_tag: str, upcast: Upcaster) -> None:
    """Teach the decoder that `old_tag` payloads become `new_tag` payloads through `upcast`."""
    if old_tag in _upcasters:
        raise ValueError(f"an upcaster for {old_tag!r} is already registered")
    _upcasters[old_tag] = (new_tag, upcast)


_decoders: dict[str, msgspec.json.Decoder[Any]] = {}


def _decoder(cls: type[Event]) -> msgspec.json.Decoder[Any]:
    tag = cls.type_tag()
    decoder = _decoders.get(tag)
    if decoder is None:
        decoder = _decoders[tag] = msgspec.json.Decoder(cls)
    return decoder


def decode_event(type_tag: str, data: bytes | str) -> Event:
    """Decode stored/wire JSON of an event, upcasting old versions to the current type."""
    if type_tag in _upcasters:
        raw: dict[str, Any] = msgspec.json.decode(data)
        tag = type_tag
        while tag in _upcasters:
            tag, upcast = _upcasters[tag]
            raw = upcast(raw)
            raw["type"] = tag
        cls = event_type(tag)
        if cls is None:
            raise UnknownEventType(f"upcast of {type_tag!r} ends at unknown type {tag!r}")
        return msgspec.convert(raw, cls)
    cls = event_type(type_tag)
    if cls is None:
        raise UnknownEventType(f"unknown event type {type_tag!r}")
    event: Event = _decoder(cls).decode(data)
    return event


def encode_event(event: Event) -> bytes:
    """JSON of an event, `type` tag included."""
    return msgspec.json.encode(event)


# ---------------------------------------------------------------------------------------------
# Envelopes.


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event a producer wants appended: the store adds stream, version, position and time."""

    event_id: uuid.UUID
    data: Event
    occurred_at: datetime
    producer: str
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None

    @property
    def type(self) -> str:
        """The event's type tag."""
        return type(self.data).type_tag()


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded event with its payload still as JSON: what the relay puts on the bus."""

    position: int
    stream: str
    version: int
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    recorded_at: datetime
    producer: str
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    data: msgspec.Raw

    def decode(self) -> RecordedEvent:
        """Decode the payload (upcasting old versions) into a `RecordedEvent`."""
        return RecordedEvent(
            position=self.position,
            stream=self.stream,
            version=self.version,
            event_id=self.event_id,
            type=self.type,
            occurred_at=self.occurred_at,
            recorded_at=self.recorded_at,
            producer=self.producer,
            causation_id=self.causation_id,
            correlation_id=self.correlation_id,
            data=decode_event(self.type, self.data),
        )


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the store recorded it, payload decoded."""

    position: int
    stream: str
    version: int
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    recorded_at: datetime
    producer: str
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    data: Event

    def as_new(self, producer: str | None = None) -> NewEvent:
        """This event to append again (a copy of the log, a replayed recording): its id,
        payload, time and causation kept; `producer` replaces the recorded one if given."""
        return NewEvent(
            event_id=self.event_id,
            data=self.data,
            occurred_at=self.occurred_at,
            producer=self.producer if producer is None else producer,
            causation_id=self.causation_id,
            correlation_id=self.correlation_id,
        )


_wire_decoder = msgspec.json.Decoder(StoredEvent)
_wire_encoder = msgspec.json.Encoder()


def encode_wire(event: StoredEvent) -> bytes:
    """Bus payload of a stored event: the envelope as JSON, readable by any NATS client."""
    return _wire_encoder.encode(event)


def decode_wire(payload: bytes) -> StoredEvent:
    """Parse a bus payload back into a `StoredEvent` (payload not yet decoded)."""
    return _wire_decoder.decode(payload)
