"""Events: tags, encoding, upcasting, deterministic ids, subjects."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from breakout.common.events import (
    StoredEvent,
    UnknownEventType,
    decode_event,
    decode_wire,
    encode_event,
    encode_wire,
    event_types,
    stream_category,
    subject_token,
)
from breakout.common.events.base import is_valid_tag
from breakout.common.ids import derived_event_id, external_event_id
from tests.support.sample import BASE_TIME, Tick


def test_event_round_trips_with_its_tag() -> None:
    tick = Tick(key="BTCUSDT", seq=7, amount=3)
    raw = encode_event(tick)
    assert msgspec.json.decode(raw)["type"] == "test.tick.v2"
    assert decode_event("test.tick.v2", raw) == tick


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
    tick = Tick(key="A", seq=1)
    with pytest.raises(AttributeError):
        tick.seq = 2  # type: ignore[misc]
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        decode_event("test.tick.v2", b'{"type":"test.tick.v2","key":"A","seq":1,"evil":1}')


def test_old_version_is_upcast_to_the_current_type() -> None:
    old = b'{"type":"test.tick.v1","key":"ETHUSDT","n":42}'
    assert decode_event("test.tick.v1", old) == Tick(key="ETHUSDT", seq=42, amount=1)


def test_unknown_type_is_a_typed_error() -> None:
    with pytest.raises(UnknownEventType, match=r"no\.such\.v1"):
        decode_event("no.such.v1", b"{}")


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("exec.order_filled.v1", True),
        ("md.trade.v12", True),
        ("NoVersion", False),
        ("exec.order_filled", False),
        ("Exec.Order.v1", False),
        (None, False),
    ],
)
def test_tag_shape(tag: object, valid: bool) -> None:
    assert is_valid_tag(tag) is valid


def test_every_defined_event_type_has_a_valid_unique_tag() -> None:
    types = event_types()  # raises on a bad or duplicated tag
    assert types["test.tick.v2"] is Tick
    assert all(cls.type_tag() == tag for tag, cls in types.items())


def test_derived_ids_are_deterministic_and_distinct() -> None:
    source = uuid.uuid4()
    assert derived_event_id("risk", source, 0) == derived_event_id("risk", source, 0)
    ids = {derived_event_id(p, source, i) for p in ("risk", "signals") for i in range(3)}
    assert len(ids) == 6
    assert external_event_id("binance", "BTCUSDT", 1) != external_event_id("binance", "BTCUSDT", 2)


def test_wire_envelope_round_trip_keeps_payload_bytes() -> None:
    tick = Tick(key="A", seq=1)
    stored = StoredEvent(
        position=5,
        stream="tick-A",
        version=1,
        event_id=uuid.uuid4(),
        type="test.tick.v2",
        occurred_at=BASE_TIME,
        recorded_at=BASE_TIME,
        producer="p",
        data=msgspec.Raw(encode_event(tick)),
    )
    wire = encode_wire(stored)
    assert msgspec.json.decode(wire)["data"]["seq"] == 1  # readable by any NATS client
    back = decode_wire(wire)
    assert back.position == 5
    assert back.decode().data == tick


def test_subject_tokens_and_categories() -> None:
    assert subject_token("BTCUSDT") == "BTCUSDT"
    with pytest.raises(ValueError, match="subject token"):
        subject_token("BTC/USDT")
    assert stream_category("order-123-abc") == "order"
    assert stream_category("md.trade-binance.BTCUSDT") == "md.trade"
