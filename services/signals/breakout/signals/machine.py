"""The per-symbol entry state machine (one per preset, symbol and side), as the design draws it.

    scanning --candidate--> level_building --valid level (latest known, or a bar's)--> signal_wait
    signal_wait --momentum / prelevel / density-eaten signal--> level_building (level spent)
    signal_wait --closed beyond the level, no momentum signal--> retest_wait
    retest_wait --retest signal, or failed back through the level--> level_building
    signal_wait, retest_wait --signal_timeout_s without an entry--> level_building / scanning
    level_building --no longer a candidate--> scanning

Sizing, execution and managing (the design's later states) belong to the risk and execution
services. Methods return `Decision`s (entries and transitions); the core turns them into events.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from breakout.common.events import Candle, IndicatorsUpdated, LevelsUpdated, PriceLevel
from breakout.common.events.sig import SignalState, TradeSide
from breakout.signals.entries import Entry, momentum, prelevel, retest
from breakout.signals.entries import density_eaten as density_entry
from breakout.signals.gates import Gate
from breakout.signals.view import Wall


@dataclass(frozen=True)
class Transition:
    """The machine moved from `previous` to `state`."""

    previous: SignalState
    state: SignalState
    reason: str
    level_price: float | None
    ts_ms: int


Decision = Entry | Transition


class SymbolMachine(msgspec.Struct, kw_only=True):
    """One symbol's state on one side (snapshotted with the core)."""

    side: TradeSide
    state: SignalState = "scanning"
    since_ts_ms: int = 0
    candidate: bool = False
    level: PriceLevel | None = None
    broken_level: float | None = None
    spent_level: float | None = None
    prelevel_for: float | None = None
    fired_walls: list[str] = msgspec.field(default_factory=list)

    # -- transitions ----------------------------------------------------------------------

    def _move(self, state: SignalState, reason: str, ts_ms: int, level: float | None) -> Transition:
        moved = Transition(self.state, state, reason, level, ts_ms)
        self.state = state
        self.since_ts_ms = ts_ms
        if state in ("scanning", "level_building"):
            self.level = None
            self.broken_level = None
        return moved

    def _rest(self, reason: str, ts_ms: int, level: float | None) -> Transition:
        """Back to waiting for a level (or to scanning when no longer a candidate)."""
        target: SignalState = "level_building" if self.candidate else "scanning"
        return self._move(target, reason, ts_ms, level)

    def _spend(self, entry: Entry, ts_ms: int) -> Transition:
        self.spent_level = entry.level_price
        return self._rest(f"{entry.strategy} signal; level spent", ts_ms, entry.level_price)

    def on_scan(
        self,
        candidate: bool,
        ts_ms: int,
        latest: LevelsUpdated | None = None,
        epsilon_bps: float = 0.0,
    ) -> list[Decision]:
        """A scan ranked the symbol among the candidates or not (judged on `latest` levels)."""
        self.candidate = candidate
        if candidate and self.state == "scanning":
            moved = self._move("level_building", "scan candidate", ts_ms, None)
            # Judged at once on the latest levels known: the next bar's would come up to a bar
            # of the levels timeframe later, in which a breakout can open and close unarmed.
            armed = self.on_levels(latest, ts_ms, epsilon_bps) if latest is not None else []
            return [moved, *armed]
        if not candidate and self.state == "level_building":
            return [self._move("scanning", "no longer a scan candidate", ts_ms, None)]
        return []

    def on_levels(self, levels: LevelsUpdated, ts_ms: int, epsilon_bps: float) -> list[Decision]:
        """Arm (or re-arm, or disarm) the level on this side from the latest levels."""
        if self.state not in ("level_building", "signal_wait"):
            return []
        level = levels.resistance if self.side == "long" else levels.support
        spent = self.spent_level is not None and (
            abs(level.price - self.spent_level) / self.spent_level * 1e4 <= epsilon_bps
        )
        if self.state == "signal_wait":
            if level.valid and not spent:
                self.level = level
                return []
            return [self._move("level_building", "level no longer valid", ts_ms, level.price)]
        if level.valid and not spent:
            self.level = level
            kind = "resistance" if self.side == "long" else "support"
            return [self._move("signal_wait", f"valid {kind}", ts_ms, level.price)]
        return []

    def on_time(self, ts_ms: int, timeout_s: int) -> list[Decision]:
        """Give up a setup that waited `timeout_s` (event time) without an entry."""
        waiting = self.state in ("signal_wait", "retest_wait")
        if waiting and ts_ms - self.since_ts_ms >= timeout_s * 1000:
            level = self.level.price if self.level else self.broken_level
            return [self._rest("signal timeout", ts_ms, level)]
        return []

    # -- entries --------------------------------------------------------------------------

    def on_bar(self, gate: Gate, candle: Candle, bar: IndicatorsUpdated) -> list[Decision]:
        """A closed bar of the levels timeframe: momentum, pre-level or retest."""
        ts_ms = candle.close_ts_ms
        if self.state == "signal_wait" and self.level is not None:
            return self._signal_wait_bar(gate, candle, bar, self.level, ts_ms)
        if self.state == "retest_wait" and self.broken_level is not None:
            return self._retest_bar(gate, candle, bar, self.broken_level, ts_ms)
        return []

    def _signal_wait_bar(
        self, gate: Gate, candle: Candle, bar: IndicatorsUpdated, level: PriceLevel, ts_ms: int
    ) -> list[Decision]:
        strategies = gate.preset.signal_config.strategies
        entry = momentum(gate, candle, bar, level, self.side)
        if entry is None:
            return self._prelevel(gate, candle, level) if "prelevel" in strategies else []
        closed_beyond = entry.checks[0].passed
        retest_first = gate.preset.strategy_priority == "retest" and "retest" in strategies
        decisions: list[Decision] = []
        if "momentum" in strategies and not retest_first:
            decisions.append(entry)
            if entry.passed:
                return [*decisions, self._spend(entry, ts_ms)]
        if not closed_beyond:
            return decisions  # a poke through that closed back inside: the level stands
        if "retest" in strategies:
            moved = self._move("retest_wait", "closed beyond the level", ts_ms, level.price)
            self.level = None
            self.broken_level = level.price
            return [*decisions, moved]
        self.spent_level = level.price
        return [*decisions, self._rest("broken without an entry", ts_ms, level.price)]

    def _prelevel(self, gate: Gate, candle: Candle, level: PriceLevel) -> list[Decision]:
        if self.prelevel_for == level.price:
            return []  # one pre-level decision per level
        entry = prelevel(gate, candle, level, self.side)
        if entry is None:
            return []
        self.prelevel_for = level.price
        if entry.passed:
            return [entry, self._spend(entry, candle.close_ts_ms)]
        return [entry]

    def _retest_bar(
        self, gate: Gate, candle: Candle, bar: IndicatorsUpdated, broken: float, ts_ms: int
    ) -> list[Decision]:
        entry = retest(gate, candle, bar, broken, self.side)
        if entry is None:
            return []
        if entry.passed:
            return [entry, self._spend(entry, ts_ms)]
        held = next(c for c in entry.checks if c.name == "close_held_level").passed
        if held:
            return [entry]
        return [entry, self._rest("failed back through the level", ts_ms, broken)]

    def on_wall(self, gate: Gate, wall: Wall, ts_ms: int) -> list[Decision]:
        """A wall was eaten further: the density-eaten entry, once per wall."""
        if self.state != "signal_wait" or self.level is None or wall.wall_id in self.fired_walls:
            return []
        if "density_eaten" not in gate.preset.signal_config.strategies:
            return []
        entry = density_entry(gate, wall, self.level, self.side)
        if entry is None:
            return []
        self.fired_walls = [*self.fired_walls[-31:], wall.wall_id]
        if entry.passed:
            return [entry, self._spend(entry, ts_ms)]
        return [entry]
