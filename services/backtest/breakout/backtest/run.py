"""One backtest run: adapt the preset to the data, run the engine, collect what it decided.

The run id is derived from the inputs (preset ref, data, window, seed, latency, balances, the
microstructure switch), so the same run always lands in the same `runs/<run id>/`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal

import msgspec

from breakout.backtest.engine import BacktestEngine, EngineSetup
from breakout.backtest.inputs import MarketData
from breakout.backtest.variants import (
    Adaptation,
    for_quote,
    per_bar_activity,
    without_microstructure,
    without_regime,
)
from breakout.common.events import RecordedEvent
from breakout.common.presets import Preset
from breakout.features.config import FeaturesConfig

DEFAULT_EQUITY = {"USDT": "100000", "USDC": "100000", "FDUSD": "100000", "BTC": "2", "ETH": "40"}
# The filters that read the tape or the book (the A/B's subject), by the check names they record.
MICROSTRUCTURE_FILTERS = (
    "spread_bps",
    "depth_usd_0_3pct",
    "depth_usd_0_5pct",
    "trades_per_minute",
    "l2_imbalance",
    "wall_eaten_ratio",
    "tpm_vs_baseline",
    "activity_not_dropped",
)


class RunOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What a run was asked: the data's name, the window, seed, latency, account, A/B switch."""

    data: str
    start_ms: int | None = None
    end_ms: int | None = None
    seed: int | None = None
    latency_ms: float = 50.0
    balances: dict[str, str] | None = None
    microstructure: bool = True


class RunOutput(msgspec.Struct, kw_only=True):
    """A finished run: its id, the preset as run, what was adapted, and every recorded event."""

    run_id: str
    options: RunOptions
    preset: Preset
    adaptations: list[Adaptation]
    no_input: list[str]
    data_kinds: list[str]
    data_notes: list[str]
    symbols: tuple[str, ...]
    quote: str
    market_events: int
    events: list[RecordedEvent]


def run_id(preset: Preset, options: RunOptions) -> str:
    """A short hash of everything that decides the run's outcome."""
    blob = msgspec.json.encode([preset.ref(), msgspec.to_builtins(options)])
    return hashlib.sha256(blob).hexdigest()[:12]


def adapt(
    preset: Preset, data: MarketData, microstructure: bool
) -> tuple[Preset, list[Adaptation], list[str]]:
    """The preset as this data can run it, what changed, and which filters have no input."""
    adaptations: list[Adaptation] = []
    no_input: list[str] = []
    preset, changed = for_quote(preset, data.quote)
    adaptations += changed
    if "modelled" in data.kinds or not data.kinds & {"trades", "book"}:
        preset, changed = without_microstructure(preset, "candles only: no trades or book")
        adaptations += changed
        no_input += list(MICROSTRUCTURE_FILTERS)
    elif not microstructure:
        preset, changed = without_microstructure(preset, "A/B: microstructure filters off")
        adaptations += changed
    if "regime" not in data.kinds:
        preset, changed = without_regime(preset, "no macro feeds in the data: no regime input")
        adaptations += changed
        no_input += ["regime_permits", "regime_known"]
    return preset, adaptations, no_input


async def run_backtest(
    preset: Preset,
    data: MarketData,
    options: RunOptions,
    *,
    features: FeaturesConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RunOutput:
    """Run `preset` over `data` through the live cores; return everything recorded."""
    adapted, adaptations, no_input = adapt(preset, data, options.microstructure)
    if features is None and "modelled" in data.kinds:
        features, changed = per_bar_activity(FeaturesConfig.from_preset(adapted))
        adaptations += changed
    balances = options.balances or {data.quote: DEFAULT_EQUITY.get(data.quote, "100000")}
    setup = EngineSetup(
        preset=adapted,
        exchange=data.rules[0].exchange if data.rules else "binance",
        symbols=data.symbols,
        quote=data.quote,
        rules=data.rules,
        balances={asset: Decimal(v) for asset, v in balances.items()},
        latency_ms=options.latency_ms,
        features=features,
    )
    start_ms = min((i.ts_ms for i in data.inputs[:1]), default=0)
    engine = BacktestEngine(setup, start_ms)
    await engine.run(data.inputs, on_progress)
    events = await engine.store.read_all(0, limit=10**12)
    return RunOutput(
        run_id=run_id(adapted, options),
        options=options,
        preset=adapted,
        adaptations=adaptations,
        no_input=no_input,
        data_kinds=sorted(data.kinds),
        data_notes=data.notes,
        symbols=data.symbols,
        quote=data.quote,
        market_events=engine.market_events,
        events=events,
    )
