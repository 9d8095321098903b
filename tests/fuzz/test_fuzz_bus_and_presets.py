"""Fuzz: bus envelopes and presets. A bad bus payload fails with one of the errors the runtime
dead-letters (never another exception that would stop a consumer); a bad preset is refused
with `PresetError` naming a field (never a crash, never a half-valid preset)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

import breakout.common.events  # noqa: F401  (registers every event type)
from breakout.common.events import (
    MarketTrade,
    StoredEvent,
    SubscriptionRequested,
    decode_wire,
    encode_wire,
)
from breakout.common.presets import Preset, PresetError, parse_preset
from tests.fuzz.strategies import FUZZ, json_values, mutated

# What the runtime's decode step turns into a dead letter (runtime/application.py).
DEAD_LETTERED = (msgspec.DecodeError, msgspec.ValidationError, ValueError)
PRESETS = Path(__file__).resolve().parents[2] / "presets"


def _envelope(event: Any) -> dict[str, Any]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    stored = StoredEvent(
        position=7,
        stream="md.trade-binance.BTCUSDT",
        version=3,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, "fuzz"),
        type=type(event).type_tag(),
        occurred_at=at,
        recorded_at=at,
        producer="fuzz",
        data=msgspec.Raw(msgspec.json.encode(event)),
    )
    decoded: dict[str, Any] = json.loads(encode_wire(stored))
    return decoded


ENVELOPES = [
    _envelope(
        MarketTrade(
            exchange="binance",
            symbol="BTCUSDT",
            trade_id=1,
            price=100.0,
            qty=1.0,
            side="buy",
            exchange_ts_ms=1,
            received_ts_ms=2,
        )
    ),
    _envelope(SubscriptionRequested(exchange="binance", symbols=["A"], requested_by="fuzz")),
]


def _decode_like_the_runtime(payload: bytes) -> None:
    try:
        decode_wire(payload).decode()
    except DEAD_LETTERED:
        return


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_on_the_bus(payload: bytes) -> None:
    _decode_like_the_runtime(payload)


@FUZZ
@given(st.one_of(*(mutated(e) for e in ENVELOPES)))
def test_near_valid_envelopes_on_the_bus(envelope: Any) -> None:
    _decode_like_the_runtime(json.dumps(envelope, allow_nan=True).encode())


def test_the_shipped_presets_parse() -> None:
    # The design's five, and the demo preset `make run` uses on the simulator.
    assert {path.stem for path in PRESETS.glob("*.json")} == {
        "breakout_v1", "high_liquidity_top30", "high_percent_breakout",
        "smallcap_top_gainers", "smallcap_top_losers", "demo",
    }  # fmt: skip
    for path in PRESETS.glob("*.json"):
        assert parse_preset(path.read_bytes(), path.name).name == path.stem


PRESET_DOCS = [json.loads(p.read_text()) for p in sorted(PRESETS.glob("*.json"))]


@FUZZ
@given(st.one_of(*(mutated(doc) for doc in PRESET_DOCS), json_values))
def test_broken_presets_are_refused_naming_the_field(doc: Any) -> None:
    try:
        preset = parse_preset(json.dumps(doc, allow_nan=True), "fuzz.json")
    except PresetError as refused:
        assert refused.reason
        assert str(refused).startswith("fuzz.json: ")
        return
    # Whatever is accepted is a whole preset that round-trips.
    assert isinstance(preset, Preset)
    assert parse_preset(msgspec.json.encode(preset)) == preset
