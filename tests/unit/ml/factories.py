"""Hand-built signals and labelled samples for the ML tests."""

from __future__ import annotations

from typing import Any

import msgspec

from breakout.common.events.sig import Check, SignalGenerated
from breakout.ml.dataset import Sample

T0 = 1_767_247_200_000  # 2026-01-01T06:00:00Z


def signal(**overrides: Any) -> SignalGenerated:
    """A long momentum signal: entry 100, stop 98 (R = 2), level 99.5, ATR 1."""
    base = SignalGenerated(
        signal_id="s-1",
        preset="demo",
        preset_ref="demo@v1#000000000000",
        exchange="binance",
        symbol="ETHUSDT",
        side="long",
        strategy="momentum",
        entry_order="market",
        entry_price=100.0,
        level_price=99.5,
        stop_price=98.0,
        atr_5m=1.0,
        swing_price=98.5,
        base_height=3.0,
        confidence=0.8,
        reason="test",
        ts_ms=T0,
        expires_ts_ms=T0 + 900_000,
        checks=[
            Check(
                name="volume_vs_median", value=3.0, threshold=2.0, op=">=", passed=True, margin=1.0
            ),
            Check(name="body_ratio", value=0.6, threshold=0.5, op=">=", passed=True, margin=0.1),
            Check(name="density", value=None, threshold=None, op="not", passed=True),
        ],
        inputs={
            "open": 99.0,
            "high": 100.5,
            "low": 98.5,
            "close": 100.0,
            "volume": 30.0,
            "volume_median": 10.0,
            "imbalance": 0.4,
            "tpm": 60.0,
            "baseline_tpm": 40.0,
            "vwap_gap_bps": 12.0,
            "strength": 0.7,
        },
    )
    return msgspec.structs.replace(base, **overrides)


def samples(count: int = 80) -> list[Sample]:
    """Time-ordered samples whose label follows the confidence (learnable), with some noise."""
    out = []
    for i in range(count):
        confidence = (i * 37 % 100) / 100
        label = 1 if (confidence > 0.5) != (i % 11 == 0) else 0
        item = signal(
            signal_id=f"s-{i}",
            confidence=confidence,
            ts_ms=T0 + i * 60_000,
            expires_ts_ms=T0 + i * 60_000 + 900_000,
            entry_price=100.0 + (i % 7) * 0.1,
        )
        out.append(Sample(signal=item, label=label, source="test"))
    return out
