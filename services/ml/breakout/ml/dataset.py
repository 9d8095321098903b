"""Training data: backtests of seeded exchange_sim sessions, each signal labelled by its path.

`simulate(...)` runs the live cores (`breakout.backtest.run.run_backtest`) over one seeded
session and returns every `SignalGenerated` with its label (`labels.label_path` over the
session's own trades after the signal). The preset is loosened first (`loosen`), so a short
session yields enough signals to learn from; every change is listed and the loosened preset's
ref is in each signal. Samples are saved as JSON lines (`save` / `load`) so a training run can
be repeated on the same data without re-running the backtests; `data_hash` is the SHA-256 of
the samples in their canonical order and goes into the model manifest.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from breakout.backtest.feed import recorded_input
from breakout.backtest.inputs import MarketData
from breakout.backtest.run import RunOptions, run_backtest
from breakout.backtest.simgen import SimSession, market_rules, simulated_events
from breakout.backtest.variants import Adaptation, apply_changes, without_microstructure
from breakout.common.events import MarketTrade, RecordedEvent
from breakout.common.events.sig import SignalGenerated
from breakout.common.presets import Preset
from breakout.exchange_sim.scenario import Phase, breakout, fakeout, quiet
from breakout.features.config import FeaturesConfig
from breakout.ml.labels import DEFAULT_HORIZON_MS, label_path

LOOSEN_REASON = "ML training data: more signals per simulated hour"


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    """One labelled signal, and where it came from (`sim:<seed>` ...)."""

    signal: SignalGenerated
    label: int
    source: str


def loosen(preset: Preset) -> tuple[Preset, list[Adaptation]]:
    """The preset with the filters that refuse most sim setups relaxed (documented in ml.md)."""
    preset, changes = without_microstructure(preset, LOOSEN_REASON)
    sig, liq = preset.signal_config, preset.liquidity_filters
    preset, more = apply_changes(
        preset,
        {
            "signal_config.require_approach_quality": (
                "signal_config",
                sig.require_approach_quality,
                False,
            ),
            "signal_config.structure_min_confidence": (
                "signal_config",
                sig.structure_min_confidence,
                min(sig.structure_min_confidence, 0.4),
            ),
            "signal_config.momentum_volume_k": (
                "signal_config",
                sig.momentum_volume_k,
                min(sig.momentum_volume_k, 1.2),
            ),
            "liquidity_filters.min_24h_volume_usd": (
                "liquidity_filters",
                liq.min_24h_volume_usd,
                0.0,
            ),
        },
        LOOSEN_REASON,
    )
    return preset, changes + more


def random_script(seed: int, duration_s: int) -> list[Phase]:
    """A seeded sequence of quiet stretches, each followed by a breakout up, which half the
    time carries on and half the time reverses (a move down 1.5 times as large) or fakes out.

    A signal on a breakout that carries on tends to reach +1 R, one on a reversal tends to be
    stopped: the sim's unscripted random walk yields too few entries per simulated hour to
    learn from (docs/ml.md).
    """
    rng = random.Random(seed)
    phases: list[Phase] = []
    elapsed = 0.0
    while elapsed < duration_s:
        calm = rng.uniform(200, 360)
        move = rng.uniform(40, 120)
        length = rng.uniform(60, 180)
        phases += [quiet(calm), breakout(length, move)]
        elapsed += calm + length
        draw = rng.random()
        if draw < 0.4:
            back = rng.uniform(60, 180)
            phases.append(breakout(back, -1.5 * move))
            elapsed += back
        elif draw < 0.6:
            poke = rng.uniform(120, 240)
            phases.append(fakeout(poke, move))
            elapsed += poke
    return phases


def simulate(
    preset: Preset,
    session: SimSession,
    *,
    scripts: Mapping[str, Sequence[Phase]] | None = None,
    features: FeaturesConfig | None = None,
    horizon_ms: int = DEFAULT_HORIZON_MS,
) -> list[Sample]:
    """One seeded session through the cores; its signals, each labelled (unlabelled dropped)."""
    inputs = [recorded_input(e, session.exchange) for e in simulated_events(session, scripts)]
    data = MarketData(
        inputs=inputs,
        symbols=session.symbols,
        kinds={"trades", "book", "candles", "ticker"},
        rules=market_rules(session),
    )
    options = RunOptions(data=f"sim:{','.join(session.symbols)}", seed=session.seed)
    output = asyncio.run(run_backtest(preset, data, options, features=features))
    return label_signals(output.events, f"sim:{session.seed}", horizon_ms)


def label_signals(
    events: Sequence[RecordedEvent], source: str, horizon_ms: int = DEFAULT_HORIZON_MS
) -> list[Sample]:
    """Each `SignalGenerated` among `events`, labelled on the `MarketTrade`s among them."""
    paths: dict[str, list[tuple[int, float]]] = defaultdict(list)
    signals: list[SignalGenerated] = []
    for event in events:
        item = event.data
        if isinstance(item, MarketTrade):
            paths[item.symbol].append((item.exchange_ts_ms, item.price))
        elif isinstance(item, SignalGenerated):
            signals.append(item)
    for path in paths.values():
        path.sort()
    samples = []
    for signal in signals:
        label = label_path(
            signal.side,
            signal.entry_price,
            signal.stop_price,
            signal.ts_ms,
            paths[signal.symbol],
            horizon_ms=horizon_ms,
        )
        if label is not None:
            samples.append(Sample(signal=signal, label=label, source=source))
    return samples


def ordered(samples: Sequence[Sample]) -> list[Sample]:
    """Samples in time order (ties by signal id): the order walk-forward folds are cut in."""
    return sorted(samples, key=lambda s: (s.signal.ts_ms, s.signal.signal_id))


def save(samples: Sequence[Sample], path: Path) -> None:
    """Write samples as JSON lines (appending to nothing: the file is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(msgspec.json.encode(s) + b"\n" for s in samples))


def load(paths: Sequence[Path]) -> list[Sample]:
    """Samples from JSON-lines files (a bad line names its file and line)."""
    decoder = msgspec.json.Decoder(Sample)
    samples: list[Sample] = []
    for path in paths:
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:
                samples.append(decoder.decode(line))
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{number}: not a sample: {exc}") from None
    return samples


def data_hash(samples: Sequence[Sample]) -> str:
    """SHA-256 of the samples in time order (what the model was trained on)."""
    digest = hashlib.sha256()
    for sample in ordered(samples):
        digest.update(msgspec.json.encode(sample))
    return digest.hexdigest()
