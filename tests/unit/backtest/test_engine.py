"""The engine on a seeded exchange_sim session: deterministic to the event id, and it trades.

ETHUSDT is scripted into a compression, a breakout, a pause and a second breakout; the preset
loosens the liquidity filters (a thin simulated tape) and reads levels on 1-minute candles.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from breakout.backtest.feed import recorded_input
from breakout.backtest.inputs import MarketData
from breakout.backtest.report import build_report
from breakout.backtest.run import RunOptions, RunOutput, run_backtest
from breakout.backtest.simgen import SimSession, market_rules, simulated_events
from breakout.common.events import OrderFillReceived, PositionClosed, PositionOpened
from breakout.common.presets import Preset, parse_preset
from breakout.exchange_sim.scenario import breakout, quiet
from breakout.features.config import FeaturesConfig, IndicatorConfig, LevelsRules

LEVELS = {
    "timeframe": "1m",
    "donchian_bars": 8,
    "min_touches": 1,
    "approach_bars": 3,
    "prebreakout_consolidation_min_bars": 1,
    "history_bars": 40,
}
SESSION = SimSession(symbols=("ETHUSDT",), seed=3, duration_s=1_500, history_bars=50)
SCRIPT = {"ETHUSDT": [quiet(600), breakout(120, 60), quiet(300), breakout(120, 60)]}


def preset() -> Preset:
    document: dict[str, Any] = {
        "name": "bt_test",
        "version": 1,
        "liquidity_filters": {
            "min_24h_volume_usd": 0,
            "max_spread_bps": 50,
            "min_depth_usd_0_3pct": 0,
            "min_depth_usd_0_5pct": 0,
            "min_trades_per_minute": 0,
        },
        "volatility_filters": {
            "atr_pct_min": 0.00001,
            "atr_pct_max": 0.5,
            "bb_width_percentile_max": 100,
            "volume_surge_1h_min": 0,
            "volume_surge_5m_min": 0,
        },
        "correlation": {"limit": 1.0},
        "scanner": {"timeframe": "1m", "interval_s": 30, "top_n": 5, "subscribe_top_n": 5},
        "signal_config": {
            "strategies": ["momentum", "retest"],
            "momentum_volume_k": 1.5,
            "l2_imbalance_min": -1.0,
            "vwap_gap_max_bps": 10_000,
            "density_confirmation": False,
        },
        "execution_config": {"momentum_order": "market"},
        "position_config": {"time_stop_minutes": 10, "time_decay_minutes": 5},
        "levels_rules": LEVELS,
    }
    return parse_preset(msgspec.json.encode(document))


def features() -> FeaturesConfig:
    return FeaturesConfig(
        levels_rules=msgspec.convert(LEVELS, LevelsRules),
        indicators=IndicatorConfig(
            atr_period=5,
            bb_period=5,
            bb_percentile_lookback=10,
            ema_fast_period=3,
            ema_slow_period=5,
            volume_median_bars=5,
            correlation_bars=10,
            history_bars=40,
        ),
    )


def run_once(data: MarketData) -> RunOutput:
    options = RunOptions(data="sim:ETHUSDT", seed=SESSION.seed)
    return asyncio.run(run_backtest(preset(), data, options, features=features()))


def test_two_runs_of_a_seeded_session_record_the_same_events_and_trade() -> None:
    events = [recorded_input(e, SESSION.exchange) for e in simulated_events(SESSION, SCRIPT)]
    data = MarketData(
        inputs=events,
        symbols=SESSION.symbols,
        kinds={"trades", "book", "candles", "ticker"},
        rules=market_rules(SESSION),
    )
    first, second = run_once(data), run_once(data)
    assert first.run_id == second.run_id
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]
    assert [e.stream for e in first.events] == [e.stream for e in second.events]
    opened = [e.data for e in first.events if isinstance(e.data, PositionOpened)]
    closed = [e.data for e in first.events if isinstance(e.data, PositionClosed)]
    fills = [e.data for e in first.events if isinstance(e.data, OrderFillReceived)]
    assert opened and closed and fills
    # Fills carry market time (the simulated clock), inside the session.
    assert all(SESSION.start_ms <= f.ts_ms <= SESSION.start_ms + 1_500_000 for f in fills)
    report = build_report(first.events, 100_000.0)
    assert report.overall.trades == len(closed)
    assert report.end_equity == 100_000.0 + sum(float(c.realized_quote) for c in closed)
    assert "regime_known" in first.no_input  # no macro feeds in a sim session
