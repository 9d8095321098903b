"""The compiled subject filter agrees with one-by-one matching; the covering filter covers."""

from __future__ import annotations

import itertools

import pytest

from breakout.common.bus.matching import SubjectFilter, covering_filter, covers, subject_matches

PATTERNS = [
    "md.trade.*.BTCUSDT",
    "md.book.*.BTCUSDT",
    "md.candle.*.*.BTCUSDT",
    "md.candle.*.*.ETHUSDT",
    "feat.>",
    "regime.state",
    "md.*",
    ">",
]
SUBJECTS = [
    "md.trade.binance.BTCUSDT",
    "md.trade.binance.ETHUSDT",
    "md.book.sim.BTCUSDT",
    "md.candle.1m.binance.BTCUSDT",
    "md.candle.1m.binance.ETHUSDT",
    "md.candle.1m.binance.SOLUSDT",
    "md.ticker",
    "md",
    "feat",
    "feat.levels.BTCUSDT",
    "regime.state",
    "regime.state.x",
    "sig.breakout_v1.BTCUSDT",
]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_compiled_filter_agrees_with_matching_each_pattern(size: int) -> None:
    for patterns in itertools.combinations(PATTERNS, size):
        compiled = SubjectFilter(patterns)
        for subject in SUBJECTS:
            expected = any(subject_matches(p, subject) for p in patterns)
            assert compiled.matches(subject) is expected, (patterns, subject)


def test_an_empty_filter_matches_nothing() -> None:
    assert not SubjectFilter(()).matches("md.trade.binance.BTCUSDT")


@pytest.mark.parametrize(
    ("patterns", "covering"),
    [
        (["md.trade.*.BTCUSDT", "md.book.*.BTCUSDT", "md.candle.*.*.BTCUSDT"], "md.>"),
        (["p.md.trade.*.X", "p.md.gap.*.X"], "p.md.>"),
        (["md.trade.sim.X", "md.trade.sim.Y"], "md.trade.sim.>"),
        (["md.trade.sim.X"], "md.trade.sim.>"),
        (["feat.>", "md.candle.*.*.X"], None),
        (["md.>", "md.trade.*.X"], "md.>"),
        (["regime.state", "regime.state.x"], "regime.>"),
        ([], None),
    ],
)
def test_covering_filter(patterns: list[str], covering: str | None) -> None:
    assert covering_filter(patterns) == covering
    if covering is not None:
        for pattern, subject in itertools.product(patterns, SUBJECTS):
            if subject_matches(pattern, subject):
                assert subject_matches(covering, subject)


@pytest.mark.parametrize(
    ("wider", "pattern", "expected"),
    [
        ("md.>", "md.trade.*.X", True),
        ("md.>", "md.x", True),
        ("md.>", "md", False),
        ("md.trade.>", "md.*.X", False),
        ("md.*.>", "md.trade.X", False),  # unsure: refused
        ("md.trade.x.X", "md.trade.x.X", True),
        ("md.trade.x.X", "md.trade.x.Y", False),
        ("feat.>", "md.trade.x.X", False),
    ],
)
def test_covers(wider: str, pattern: str, expected: bool) -> None:
    assert covers(wider, pattern) is expected
