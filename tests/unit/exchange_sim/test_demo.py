"""The demo scenario: its clock, its scripts, the base in the history and the macro world."""

from __future__ import annotations

from datetime import UTC, datetime

from breakout.exchange_sim.demo import (
    BASE_MINUTES,
    FIRST_BREAKOUT_S,
    demo_macro_script,
    demo_macro_start,
    demo_scripts,
    demo_start_ms,
)
from breakout.exchange_sim.history import COIL_MINUTES
from breakout.exchange_sim.klines import MINUTE_MS
from breakout.exchange_sim.macro_world import MacroWorld
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.specs import make_spec

WALL_MS = 1_795_300_012_345


def test_the_first_breakout_opens_a_minute_bar_within_a_minute_of_the_wall() -> None:
    for wall_ms in (WALL_MS, WALL_MS + 17_000, WALL_MS + 59_999):
        start_ms = demo_start_ms(wall_ms)
        assert 0 <= start_ms - wall_ms < MINUTE_MS  # never behind the wall (ingest closes bars)
        assert (start_ms + FIRST_BREAKOUT_S * 1000) % MINUTE_MS == 0


def test_the_first_six_symbols_break_out_one_bar_after_another() -> None:
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT"]
    scripts = demo_scripts(symbols)
    assert list(scripts) == symbols[:6]
    bases = [phases[0].duration_s for phases in scripts.values()]
    # A breakout bar closes every minute from 90 s to six and a half minutes.
    assert bases == [FIRST_BREAKOUT_S + 60 * i for i in range(6)]
    assert FIRST_BREAKOUT_S + 60 == 90
    for phases in scripts.values():
        assert [p.kind for p in phases] == ["quiet", "breakout", "breakout"]
        assert phases[1].duration_s == 60 and phases[1].move_bps > 0  # one bar


def _history(symbol: str, seed: int) -> list[tuple[float, float, float, float]]:
    config = MarketConfig(
        seed=seed,
        history_days=1,
        quiet_tail_symbols=frozenset({symbol}),
        quiet_tail_minutes=BASE_MINUTES,
    )
    start_ms = WALL_MS // MINUTE_MS * MINUTE_MS
    market = SymbolMarket(make_spec(symbol), config, start_ms)
    history = [b for b in market.klines.bars if b.open_ms < start_ms]
    return [(b.open, b.high, b.low, b.close) for b in history]


def test_the_history_ends_in_a_base_under_a_defended_resistance() -> None:
    for seed in (1, 2, 3):
        bars = _history("ETHUSDT", seed)
        last_close = bars[-1][3]
        window = bars[-20:]
        height_bps = (max(b[1] for b in window) - min(b[2] for b in window)) / last_close * 1e4
        assert 55 < height_bps < 95  # the measured move above the level
        coil = bars[-COIL_MINUTES:]
        ceiling = max(b[1] for b in coil)
        touches = sum(1 for b in coil if b[1] == ceiling)
        assert touches >= COIL_MINUTES // 2  # a resistance with its touches
        # A tight coil under it by the end (its first minutes still climb from the base).
        assert (ceiling - min(b[2] for b in coil[-8:])) / last_close * 1e4 < 12


def test_the_macro_world_has_been_risk_on_for_a_day_and_a_half() -> None:
    now = datetime.fromtimestamp(WALL_MS / 1000, UTC)
    world = MacroWorld(seed=3, start=demo_macro_start(now), script=demo_macro_script())
    hour = world.hour_of(WALL_MS)
    assert {world.segment_at(h).mood for h in range(hour - 35, hour + 1)} == {"risk_on"}
    dxy_day = world.dxy_candle(hour).close / world.dxy_candle(hour - 24).open - 1
    assert dxy_day < -0.005  # the dollar's fall over a day reads as a strong trend
