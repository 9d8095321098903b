"""The engine on a seeded exchange_sim session: deterministic to the event id, and it trades.

ETHUSDT is scripted into a compression, a breakout, a pause and a second breakout; the preset
loosens the liquidity filters (a thin simulated tape) and reads levels on 1-minute candles.
"""

from __future__ import annotations

import asyncio

from breakout.backtest.feed import recorded_input
from breakout.backtest.inputs import MarketData
from breakout.backtest.report import build_report
from breakout.backtest.run import RunOptions, RunOutput, run_backtest
from breakout.backtest.simgen import SimSession, market_rules, simulated_events
from breakout.common.events import OrderFillReceived, PositionClosed, PositionOpened
from breakout.common.presets import Preset
from breakout.exchange_sim.scenario import breakout, quiet
from breakout.features.config import FeaturesConfig
from tests.support.short_session import short_features_config, short_session_preset

SESSION = SimSession(symbols=("ETHUSDT",), seed=3, duration_s=1_500, history_bars=50)
SCRIPT = {"ETHUSDT": [quiet(600), breakout(120, 60), quiet(300), breakout(120, 60)]}


def preset() -> Preset:
    return short_session_preset(
        "bt_test",
        execution_config={"momentum_order": "market"},
        position_config={"time_stop_minutes": 10, "time_decay_minutes": 5},
    )


def features() -> FeaturesConfig:
    return short_features_config()


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
