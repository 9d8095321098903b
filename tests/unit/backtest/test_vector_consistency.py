"""The vector engine against the event engine on the same candles (docs/backtest.md, "Engines").

Preset: breakout_v1 restricted to what both engines compute on candles: the momentum rule alone
(5-minute channel + epsilon, volume, body, ATR / swing stop, risk's projection target and its
reward/risk floor), the gates the vector engine does not compute opened wide (scanner filters,
level validity, approach, VWAP), TP1 / TP2 out of reach (no partial exit, no breakeven stop), one
position at a time, no time stops. The candle model's book is deep enough that no order walks
past its first level (the vector engine does not model size-dependent slippage).

Asserted on 3,000 seeded 1-minute candles: (1) every momentum decision the event engine made is
the vector engine's on that bar: same level, same close / volume / body verdict, same stop;
(2) while the event engine's signal machine was armed (the scanner's candidacy and the level's
arming are not modelled by the vector engine), both take the same trades: side, entry and exit
bar, exit reason, entry, stop and exit price equal to float rounding (`PRICE_REL`).
"""

from __future__ import annotations

import msgspec
import pytest

from bench import backtest_bench as bench
from breakout.backtest.candle_model import CandleModel
from breakout.backtest.inputs import from_files
from breakout.backtest.run import RunOptions, RunOutput, run_backtest
from breakout.backtest.vector.bars import Bars, channel
from breakout.backtest.vector.engine import entry_mask, run_bars, signals
from breakout.backtest.vector.rules import CandleRules, rules_from_preset
from breakout.backtest.vector.run import load_bars
from breakout.common.events import PositionClosed, PositionOpened, SignalGenerated, SignalRejected
from breakout.common.events.sig import SignalStateChanged
from breakout.common.presets import Preset, load_preset

CANDLES = 3_000
PRICE_REL = 1e-9  # float rounding only: both engines price from the same bar values
VECTOR_CHECKS = ("close_beyond_level", "volume_vs_median", "body_ratio")


def both_engines_preset() -> Preset:
    """breakout_v1 with what the vector engine does not compute opened wide (see the docstring)."""
    p = load_preset("breakout_v1")
    r = msgspec.structs.replace
    return r(
        p,
        risk=r(p.risk, max_positions=1, min_signal_confidence=0.0, max_consecutive_losses=100),
        liquidity_filters=r(p.liquidity_filters, min_24h_volume_usd=0.0),
        volatility_filters=r(
            p.volatility_filters,
            atr_pct_min=0.0,
            atr_pct_max=1.0,
            bb_width_percentile_max=100.0,
            volume_surge_1h_min=0.0,
            volume_surge_5m_min=0.0,
        ),
        levels_rules=r(p.levels_rules, min_touches=1, max_age_bars=10_000, max_wick_atr=1e9),
        signal_config=r(
            p.signal_config,
            strategies=("momentum",),
            require_approach_quality=False,
            vwap_gap_max_bps=10_000.0,
            momentum_volume_k=1.2,
            momentum_body_ratio_min=0.3,
        ),
        position_config=r(
            p.position_config,
            tp1_r=20.0,  # never reached before the projection target: no partial, no breakeven
            tp2_r=50.0,
            add_on_enabled=False,
            time_stop_minutes=43_200,
            time_decay_minutes=43_200,
        ),
        execution_config=r(p.execution_config, momentum_order="market"),
    )


Runs = tuple[RunOutput, Bars, CandleRules]


@pytest.fixture(scope="module")
async def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folder = tmp_path_factory.mktemp("vector")
    path = bench.write_parquet(bench.candles(CANDLES, seed=5), folder / "SIM_USDT-1m.parquet")
    deep = CandleModel(level_volume_frac=1e6)  # one level holds any order: no depth walk
    data = from_files([path], model=deep)
    out = await run_backtest(both_engines_preset(), data, RunOptions(data=str(path)))
    (bars,) = load_bars([path], None, None)
    rules, _ = rules_from_preset(out.preset)
    return out, bars, rules


def armed_at(out: RunOutput, close_ts_ms: int) -> bool:
    """Was the event engine's long machine waiting for a signal when this bar closed?"""
    state = "scanning"
    for event in out.events:
        data = event.data
        if isinstance(data, SignalStateChanged) and data.side == "long":
            if data.ts_ms >= close_ts_ms:  # the bar's own decisions come after it closed
                break
            state = data.state
    return state == "signal_wait"


async def test_every_event_decision_is_the_vector_rule_on_that_bar(runs: Runs) -> None:
    out, bars, rules = runs
    found = signals(bars, rules)
    upper, _ = channel(found.bars, rules.channel_bars)
    passes = entry_mask(found.bars, rules)
    index = {int(ts): i for i, ts in enumerate(found.bars.open_ts_ms)}
    decisions = [
        e.data
        for e in out.events
        if isinstance(e.data, SignalGenerated | SignalRejected) and e.data.strategy == "momentum"
    ]
    assert sum(isinstance(d, SignalGenerated) for d in decisions) >= 3
    assert len(decisions) >= 30
    for decision in decisions:
        i = index[int(decision.inputs["bar_open_ts_ms"])]  # type: ignore[arg-type]
        checks = {c.name: c.passed for c in decision.checks}
        assert decision.level_price == pytest.approx(upper[i], rel=PRICE_REL)
        assert all(checks[name] for name in VECTOR_CHECKS) == bool(passes[i]), decision
        if isinstance(decision, SignalGenerated):
            assert bool(found.entry[i])  # the reward/risk to the projection is risk's: below
            assert decision.stop_price == pytest.approx(found.stop[i], rel=PRICE_REL)


def event_trades(out: RunOutput) -> list[tuple[PositionOpened, PositionClosed]]:
    opened = {e.data.position_id: e.data for e in out.events if isinstance(e.data, PositionOpened)}
    return [
        (opened[e.data.position_id], e.data)
        for e in out.events
        if isinstance(e.data, PositionClosed)
    ]


async def test_both_engines_take_the_same_trades_while_the_event_machine_is_armed(
    runs: Runs,
) -> None:
    out, bars, rules = runs
    span = rules.timeframe_ms or bars.span_ms
    ours = run_bars(bars, rules).trades
    # What the vector engine does not model: the scanner's candidacy and the signal machine's
    # arming (a spent level, a level not yet valid). Its trades the event engine was not armed
    # for are left out, and only those.
    armed = [t for t in ours if armed_at(out, t.signal_ts_ms + span - 1)]
    theirs = event_trades(out)
    assert len(theirs) >= 2
    assert len(armed) == len(theirs)
    for trade, (opened, closed) in zip(armed, theirs, strict=True):
        assert opened.side == "long" and closed.reason == trade.reason
        entry_open = int(bars.open_ts_ms[trade.entry_bar])
        exit_open = int(bars.open_ts_ms[trade.exit_bar])
        assert entry_open <= opened.ts_ms < entry_open + bars.span_ms
        assert exit_open <= closed.ts_ms < exit_open + bars.span_ms
        assert float(opened.entry_price) == pytest.approx(trade.entry_price, rel=PRICE_REL)
        assert float(opened.stop_price) == pytest.approx(trade.stop_price, rel=PRICE_REL)
        assert float(closed.exit_avg_price) == pytest.approx(trade.exit_price, rel=PRICE_REL)
