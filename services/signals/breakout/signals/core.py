"""The signals core: features, market data, regime and operator commands in; scans, entry
signals, rejections and state changes out. One instance runs one preset (and one symbol group).

Pure and deterministic (a `SnapshottingCore`): its time is the exchange time of the events it
reads, never a clock. Scans run each time that time passes a multiple of the preset's
`scanner.interval_s` (the state as of the boundary, before the event that crossed it), and on
demand at a `ScanRequested` (`ctl.scan`, at the latest time seen); the top
candidates are sent to ingestion as a `ctl.subscribe` when that set gains a symbol. Entry rules
run on the closed bars of the levels timeframe (on the bar's `IndicatorsUpdated`, which follows
its candle), on eaten walls and on structure events. When the preset names an `ml_model`, each
signal records the model's probability (and is rejected below `ml_veto_threshold`): the model
is loaded by whoever builds the core and handed in (docs/ml.md), and scoring is deterministic.

    scan.ranked.<preset>     ScanCompleted                              stream scan-<preset>
    sig.<preset>.<SYMBOL>    SignalGenerated, SignalRejected, SignalStateChanged
                                                                   stream signal-<preset>.<SYMBOL>
    ctl.subscribe            SubscriptionRequested                      stream ctl-subscribe
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import msgspec

from breakout.common.events import (
    Candle,
    DensityEaten,
    DensityRemoved,
    Event,
    IndicatorsUpdated,
    LevelsUpdated,
    LiquiditySweep,
    PauseRequested,
    RecordedEvent,
    RegimeChanged,
    RegimeFreshnessChanged,
    ScanRequested,
    StructureShift,
    SubscriptionRequested,
    ctl_stream,
    scan_stream,
    signal_stream,
)
from breakout.common.events.sig import ScanCompleted, TradeSide
from breakout.common.presets import Preset
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter
from breakout.signals.decisions import decision_event
from breakout.signals.gates import Gate, RegimeView
from breakout.signals.machine import Decision, SymbolMachine
from breakout.signals.mlmodel import MlModel
from breakout.signals.scanner import scan_rows
from breakout.signals.structure import structure_entry
from breakout.signals.view import SymbolView, add_candle, fold_market

_SNAPSHOT_VERSION = 1
ScanTrigger = Literal["schedule", "on_demand"]
FEATURE_KINDS = ("activity", "book", "density", "indicators", "levels", "orderflow", "structure")
INPUT_TYPES = (
    "md.candle.v1",
    "md.ticker.v1",
    "feat.trade_activity.v1",
    "feat.activity_dropped.v1",
    "feat.activity_recovered.v1",
    "feat.book_metrics.v1",
    "feat.density_detected.v1",
    "feat.density_eaten.v1",
    "feat.density_removed.v1",
    "feat.indicators.v1",
    "feat.levels.v1",
    "feat.orderflow.v1",
    "feat.structure_shift.v1",
    "feat.liquidity_sweep.v1",
    "regime.changed.v1",
    "regime.freshness.v1",
    "ctl.pause.v1",
    "scan.requested.v1",
)


class SignalsState(msgspec.Struct, kw_only=True):
    """Everything the core remembers (snapshotted as msgpack)."""

    version: int = _SNAPSHOT_VERSION
    preset_ref: str = ""
    now_ms: int = 0
    next_scan_ms: int | None = None
    views: dict[str, SymbolView] = msgspec.field(default_factory=dict)
    machines: dict[str, SymbolMachine] = msgspec.field(default_factory=dict)
    regime: RegimeView | None = None
    paused: bool = False
    subscribed: list[str] = msgspec.field(default_factory=list)


class SignalsCore:
    """Scanner and entry rules of one preset on one venue (optionally one symbol group)."""

    store_filter: EventFilter | None = EventFilter(types=INPUT_TYPES)

    def __init__(
        self,
        preset: Preset,
        exchange: str,
        symbols: Sequence[str] = (),
        ml: MlModel | None = None,
    ) -> None:
        self.preset = preset
        # The preset's ML filter, loaded by the composition root (`mlmodel.preset_model`: a
        # missing or invalid artifact is a PresetError on `ml_model`). A core never reads files;
        # one built without the model its preset names would pass every signal unscored.
        if preset.ml_model is not None and ml is None:
            raise ValueError(
                f"preset {preset.name} names ml_model {preset.ml_model!r}: "
                "pass the loaded model (breakout.signals.mlmodel.preset_model)"
            )
        self.ml = ml
        self.ref = preset.ref()
        self.exchange = exchange
        self.symbols = tuple(symbols)
        self.sides: tuple[TradeSide, ...] = (
            ("long", "short") if preset.side == "both" else (preset.side,)
        )
        self.state = SignalsState(preset_ref=self.ref)
        self.subjects = self._subjects()

    def _subjects(self) -> tuple[str, ...]:
        keys = self.symbols or ("*",)
        subjects = ["regime.state", "ctl.pause", "ctl.scan"]
        for key in keys:
            subjects += [f"feat.{kind}.{key}" for kind in FEATURE_KINDS]
            subjects += [f"md.candle.*.*.{key}", f"md.ticker.*.{key}"]
        return tuple(subjects)

    # -- routing --------------------------------------------------------------------------

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Fold one event in; return the scans, decisions and requests it leads to."""
        data = event.data
        match data:
            case RegimeChanged():
                permissions = data.permissions
                self.state.regime = RegimeView(
                    state=data.state,
                    sides_allowed=list(permissions.sides_allowed),
                    presets_allowed=list(permissions.presets_allowed),
                )
                return []
            case RegimeFreshnessChanged():
                if self.state.regime is not None:
                    self.state.regime.stale = data.stale
                return []
            case PauseRequested():
                if data.preset in (None, self.preset.name):
                    self.state.paused = data.paused
                return []
            case ScanRequested():
                if data.preset in (None, self.preset.name) and self.state.now_ms:
                    return self.scan(self.state.now_ms, "on_demand")
                return []
        symbol = getattr(data, "symbol", None)
        if getattr(data, "exchange", None) != self.exchange or not isinstance(symbol, str):
            return []
        if self.symbols and symbol not in self.symbols:
            return []
        return self._on_symbol_event(symbol, data)

    def _on_symbol_event(self, symbol: str, data: Event) -> list[Emit]:
        outputs = self._scan_if_due(_event_ts(data))
        view = self.state.views.get(symbol)
        if view is None:
            view = self.state.views[symbol] = SymbolView(exchange=self.exchange, symbol=symbol)
        timeframe = self.preset.levels_rules.timeframe
        decisions: list[tuple[TradeSide, Decision]] = []
        if isinstance(data, Candle):
            if data.timeframe == timeframe:
                add_candle(view, data)
        elif fold_market(view, data):
            decisions += self._after_market(view, data)
        else:
            decisions += self._structure(view, data)
        for side in self.sides:
            machine = self._machine(symbol, side)
            timeout = self.preset.signal_config.signal_timeout_s
            decisions += [(side, d) for d in machine.on_time(view.ts_ms, timeout)]
        outputs += [self._emit(view, side, d) for side, d in decisions]
        return outputs

    def _after_market(self, view: SymbolView, data: Event) -> list[tuple[TradeSide, Decision]]:
        # Most market events (book metrics, activity, tickers, walls appearing) only update the
        # view: they reach no rule, so they build no gate (a wall a second per symbol is usual).
        match data:
            case IndicatorsUpdated() if data.timeframe == self.preset.levels_rules.timeframe:
                # Found by its open time: the features service lags the market data (a replay
                # appends all candles first), so later candles may be here already.
                candle = next(
                    (c for c in reversed(view.candles) if c.open_ts_ms == data.open_ts_ms), None
                )
                if candle is not None:
                    bar, indicators = candle, data
                    return self._each_side(view, lambda m, g: m.on_bar(g, bar, indicators))
            case DensityEaten() | DensityRemoved():
                wall = view.walls.get(data.wall_id)
                if wall is not None:
                    return self._each_side(view, lambda m, g: m.on_wall(g, wall, view.ts_ms))
        return []

    def _each_side(
        self, view: SymbolView, rule: Callable[[SymbolMachine, Gate], list[Decision]]
    ) -> list[tuple[TradeSide, Decision]]:
        gate = self._gate(view)
        return [
            (side, d) for side in self.sides for d in rule(self._machine(view.symbol, side), gate)
        ]

    def _structure(self, view: SymbolView, data: Event) -> list[tuple[TradeSide, Decision]]:
        decisions: list[tuple[TradeSide, Decision]] = []
        if isinstance(data, LevelsUpdated):
            view.levels = data
            view.advance(data.open_ts_ms)
            epsilon = self.preset.signal_config.momentum_epsilon_bps
            for side in self.sides:
                machine = self._machine(view.symbol, side)
                decisions += [(side, d) for d in machine.on_levels(data, view.ts_ms, epsilon)]
        elif isinstance(data, StructureShift | LiquiditySweep):
            if "structure" not in self.preset.signal_config.strategies:
                return []
            for side in self.sides:
                machine = self._machine(view.symbol, side)
                if machine.state == "scanning":
                    continue  # only candidates (or armed setups) take structure entries
                entry = structure_entry(self._gate(view), data, side)
                if entry is not None:
                    decisions.append((side, entry))
        return decisions

    def _machine(self, symbol: str, side: TradeSide) -> SymbolMachine:
        key = f"{symbol}:{side}"
        machine = self.state.machines.get(key)
        if machine is None:
            machine = self.state.machines[key] = SymbolMachine(side=side)
        return machine

    def _gate(self, view: SymbolView) -> Gate:
        return Gate(self.preset, view, self.state.regime, self.state.paused)

    def _emit(self, view: SymbolView, side: TradeSide, decision: Decision) -> Emit:
        event = decision_event(self.preset, self.ref, view, side, decision, ml=self.ml)
        return Emit(stream=signal_stream(self.preset.name, view.symbol), event=event)

    # -- scans ----------------------------------------------------------------------------

    def _scan_if_due(self, ts_ms: int | None) -> list[Emit]:
        if ts_ms is None:
            return []
        state = self.state
        interval_ms = self.preset.scanner.interval_s * 1000
        if state.next_scan_ms is None:
            state.next_scan_ms = (ts_ms // interval_ms + 1) * interval_ms
        state.now_ms = max(state.now_ms, ts_ms)
        if state.now_ms < state.next_scan_ms:
            return []
        scan_ts = state.now_ms // interval_ms * interval_ms
        state.next_scan_ms = scan_ts + interval_ms
        return self.scan(scan_ts, "schedule")

    def scan(self, ts_ms: int, trigger: ScanTrigger = "on_demand") -> list[Emit]:
        """Scan every symbol now: the `ScanCompleted`, state changes, a `ctl.subscribe`."""
        rows, candidates = scan_rows(self.state.views.values(), self.preset)
        scan = ScanCompleted(
            preset=self.preset.name,
            preset_ref=self.ref,
            exchange=self.exchange,
            ts_ms=ts_ms,
            rows=rows,
            candidates=candidates,
            trigger=trigger,
        )
        outputs = [Emit(stream=scan_stream(self.preset.name), event=scan)]
        chosen = set(candidates)
        epsilon = self.preset.signal_config.momentum_epsilon_bps
        for view in self.state.views.values():
            for side in self.sides:
                machine = self._machine(view.symbol, side)
                scanned = machine.on_scan(view.symbol in chosen, ts_ms, view.levels, epsilon)
                for decision in scanned:
                    outputs.append(self._emit(view, side, decision))
        return outputs + self._subscribe([r.symbol for r in rows if r.passed])

    def _subscribe(self, ranked: list[str]) -> list[Emit]:
        top = ranked[: self.preset.scanner.subscribe_top_n]
        new = [s for s in top if s not in self.state.subscribed]
        if not new:
            return []
        self.state.subscribed = sorted({*self.state.subscribed, *new})
        request = SubscriptionRequested(
            exchange=self.exchange,
            symbols=new,
            action="add",
            requested_by=f"signals:{self.preset.name}",
            reason=f"top {len(top)} scan candidates of {self.ref}",
        )
        return [Emit(stream=ctl_stream("subscribe"), event=request)]

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state (msgpack)."""
        return msgspec.msgpack.encode(self.state)

    def restore(self, state: bytes) -> None:
        """Replace the state with a snapshot's; one of another preset version is not used."""
        try:
            restored = msgspec.msgpack.decode(state, type=SignalsState)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if restored.version == _SNAPSHOT_VERSION and restored.preset_ref == self.ref:
            self.state = restored


def _event_ts(data: Event) -> int | None:
    for name in ("ts_ms", "close_ts_ms", "exchange_ts_ms"):
        value = getattr(data, name, None)
        if isinstance(value, int):
            return value
    return None
