"""Train a tiny model on a seeded backtest, then run the signals core with it named in the preset.

Two scripted exchange_sim sessions (a breakout that carries on, one that reverses) run through
the live cores; their signals are labelled on each session's own trades, a tiny ensemble is
fitted on them and saved under a temporary models dir; the second session's market data is run
again with the preset naming that model: every signal records the probability the loaded artifact
gives for it, bit for bit.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from breakout.backtest.feed import recorded_input
from breakout.backtest.inputs import MarketData
from breakout.backtest.run import RunOptions, run_backtest
from breakout.backtest.simgen import SimSession, market_rules, simulated_events
from breakout.common.events import RecordedEvent
from breakout.common.events.sig import SignalGenerated
from breakout.common.presets import Preset
from breakout.exchange_sim.scenario import Phase, breakout, quiet
from breakout.ml.artifact import save_artifact
from breakout.ml.dataset import Sample, label_signals
from breakout.ml.models import ModelSize, fit_ensemble
from breakout.signals.mlmodel import load_model
from tests.support.short_session import short_features_config, short_session_preset

# A breakout that carries on: its signals reach +1 R (label 1).
CARRIES_ON = (
    SimSession(symbols=("ETHUSDT",), seed=3, duration_s=1_500, history_bars=50),
    {"ETHUSDT": [quiet(600), breakout(120, 60), quiet(300), breakout(120, 60)]},
)
# A breakout that reverses: its signal is stopped (label 0).
REVERSES = (
    SimSession(symbols=("ETHUSDT",), seed=3, duration_s=1_170, history_bars=50),
    {"ETHUSDT": [quiet(420), breakout(120, 60), breakout(120, -150), quiet(480)]},
)
TINY = ModelSize(trees=5, boosting_rounds=5, hidden=(4,), mlp_iterations=50)


def market(session: SimSession, script: dict[str, list[Phase]]) -> MarketData:
    inputs = [recorded_input(e, session.exchange) for e in simulated_events(session, script)]
    return MarketData(
        inputs=inputs,
        symbols=session.symbols,
        kinds={"trades", "book", "candles", "ticker"},
        rules=market_rules(session),
    )


def run(preset: Preset, data: MarketData) -> tuple[list[SignalGenerated], list[RecordedEvent]]:
    options = RunOptions(data="sim:ETHUSDT", seed=3)
    output = asyncio.run(run_backtest(preset, data, options, features=short_features_config()))
    return [e.data for e in output.events if isinstance(e.data, SignalGenerated)], output.events


@pytest.mark.timeout(1200)  # three backtest runs: 144 s on the loaded 2-core box
def test_a_model_trained_on_a_backtest_scores_the_signals_of_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = short_session_preset("ml_test", execution_config={"momentum_order": "market"})
    samples: list[Sample] = []
    for session, script in (CARRIES_ON, REVERSES):
        data = market(session, script)
        signals, events = run(plain, data)
        assert signals and all(s.ml_probability is None for s in signals)
        samples += label_signals(events, "sim:3")
    assert {s.label for s in samples} == {0, 1}, [s.label for s in samples]
    model = fit_ensemble(samples, size=TINY)
    when = datetime(2026, 1, 2, tzinfo=UTC)
    save_artifact(
        model,
        samples,
        out=tmp_path,
        name="ml_test_model",
        version=1,
        created_at=when,
        evaluation={},
        training={"data": "sim:3"},
    )
    monkeypatch.setenv("BREAKOUT_MODELS_DIR", str(tmp_path))
    scored_preset = msgspec.structs.replace(plain, ml_model="ml_test_model@1")
    scored, _ = run(scored_preset, data)  # the reversing session again, with the model
    # The model records, it does not veto: the same entries, each with its probability.
    assert [(s.ts_ms, s.strategy) for s in scored] == [(s.ts_ms, s.strategy) for s in signals]
    loaded = load_model("ml_test_model@1")
    for signal in scored:
        assert signal.ml_probability is not None and 0.0 <= signal.ml_probability <= 1.0
        assert signal.ml_probability.hex() == loaded.probability(signal).hex()
