"""Which subject patterns a WebSocket client may ask for."""

from __future__ import annotations

import pytest

from breakout.gateway.config import DEFAULT_WS_ALLOW
from breakout.gateway.patterns import PatternError, allowed_patterns, covers, minimal


@pytest.mark.parametrize(
    ("wide", "narrow", "expected"),
    [
        ("feat.>", "feat.density.BTCUSDT", True),
        ("feat.>", "feat.*.BTCUSDT", True),
        ("feat.>", "feat.>", True),
        ("feat.>", "feat", False),
        ("feat.*.BTCUSDT", "feat.density.BTCUSDT", True),
        ("feat.density.BTCUSDT", "feat.*.BTCUSDT", False),
        ("feat.*", "feat.>", False),
        ("md.candle.>", "md.candle.*.*.BTCUSDT", True),
        ("md.candle.>", "md.trade.binance.BTCUSDT", False),
        ("pos.>", "pos.opened.BTCUSDT", True),
    ],
)
def test_covers(wide: str, narrow: str, expected: bool) -> None:
    assert covers(wide, narrow) is expected


def test_allowed_patterns_dedup_and_refusals() -> None:
    kept = allowed_patterns(
        ["feat.density.BTCUSDT", "feat.>", "pos.>", "pos.>"], DEFAULT_WS_ALLOW, 8
    )
    assert kept == ["feat.>", "pos.>"]
    with pytest.raises(PatternError, match="not allowed"):
        allowed_patterns(["md.trade.binance.BTCUSDT"], DEFAULT_WS_ALLOW, 8)
    with pytest.raises(PatternError, match="not allowed"):
        allowed_patterns([">"], DEFAULT_WS_ALLOW, 8)
    with pytest.raises(PatternError, match="not a subject pattern"):
        allowed_patterns(["feat..x"], DEFAULT_WS_ALLOW, 8)
    with pytest.raises(PatternError, match="not a subject pattern"):
        allowed_patterns(["feat.>.x"], DEFAULT_WS_ALLOW, 8)
    with pytest.raises(PatternError, match="no subjects"):
        allowed_patterns(["", " "], DEFAULT_WS_ALLOW, 8)
    with pytest.raises(PatternError, match="at most 2"):
        allowed_patterns(["feat.a", "feat.b", "feat.c"], DEFAULT_WS_ALLOW, 2)


def test_minimal_allow_list_never_delivers_a_message_twice() -> None:
    assert minimal(["feat.>", "feat.density.>", "pos.>"]) == ["feat.>", "pos.>"]
