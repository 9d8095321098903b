"""Scripted markets: a compression then a breakout, a compression then a fake-out."""

from __future__ import annotations

from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.regimes import Regime
from breakout.exchange_sim.scenario import Phase, breakout, fakeout, quiet, script_market
from breakout.exchange_sim.specs import make_spec

START_MS = 1_700_000_040_000  # a minute boundary


def _minutes(
    symbol: str, phases: list[Phase], minutes: int
) -> list[tuple[float, float, float, float]]:
    """1-minute (open, high, low, close) of the scripted market's trades."""
    spec = make_spec(symbol)
    market = SymbolMarket(
        spec, MarketConfig(seed=11, trade_rate_multiplier=0.1, history_days=0.01), START_MS
    )
    script_market(market, phases)
    bars: dict[int, list[float]] = {}
    for _ in range(minutes * 600):
        for trade in market.step(100):
            bars.setdefault(trade.ts_ms // 60_000, []).append(trade.price / 10**spec.price_decimals)
    return [(p[0], max(p), min(p), p[-1]) for _, p in sorted(bars.items())]


def test_a_compression_then_a_breakout_closes_well_above_the_range() -> None:
    bars = _minutes("ETHUSDT", [quiet(600), breakout(120, move_bps=60)], 12)
    range_high = max(high for _, high, _, _ in bars[:10])
    range_low = min(low for _, _, low, _ in bars[:10])
    assert (range_high / range_low - 1) * 1e4 < 10  # a tight range
    first = bars[10]
    assert (first[3] / range_high - 1) * 1e4 > 15  # the first breakout bar closes beyond it
    assert bars[11][3] > first[3]


def test_a_fake_out_pokes_through_and_closes_back_inside() -> None:
    bars = _minutes("SOLUSDT", [quiet(600), fakeout(60, move_bps=30)], 12)
    range_high = max(high for _, high, _, _ in bars[:10])
    poke = bars[10]
    assert poke[1] > range_high * 1.0005  # above the range by more than 5 bps
    assert poke[3] < range_high  # and back inside at the close


def test_a_script_is_deterministic_and_ends_quiet() -> None:
    phases = [quiet(60), breakout(60, move_bps=20)]
    assert _minutes("ETHUSDT", phases, 3) == _minutes("ETHUSDT", phases, 3)
    market = SymbolMarket(make_spec("ETHUSDT"), MarketConfig(seed=1, history_days=0.01), START_MS)
    process = script_market(market, [breakout(1, move_bps=5)])
    for _ in range(30):
        market.step(100)
    assert process.history == ["breakout"] and market.regime is Regime.QUIET
