"""Scripted markets: a symbol follows a given story instead of the random regime chain.

Tests of the signals pipeline need a known shape at a known time: a tight range, then a clean
breakout; a range, then a fake-out that pokes through and falls back. A script is a list of
phases run in order from the simulation's start (then the market stays quiet):

    quiet(600)                           a tight range around the price the phase starts at
    breakout(120, move_bps=60)           a steady move of 60 bps over the phase, busy tape
    fakeout(40, move_bps=25)             up 25 bps in the first 40 %, back into the range after

Only the fair price's path is scripted; makers, walls and takers work as in the simulator
(takers lean with the phase, so volume rises on a breakout). Deterministic like the rest: the
same seed, start and script print the same trades.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from breakout.exchange_sim.market import SymbolMarket
from breakout.exchange_sim.price_process import PriceProcess
from breakout.exchange_sim.regimes import Regime

PhaseKind = Literal["quiet", "breakout", "fakeout"]
QUIET_VOL_BPS_PER_SQRT_S = 0.25
QUIET_REVERSION_PER_S = 0.05
MOVE_VOL_BPS_PER_SQRT_S = 0.4
FAKEOUT_RISE_SHARE = 0.4
FAKEOUT_REVERSION_PER_S = 0.15


@dataclass(frozen=True, kw_only=True)
class Phase:
    """One step of a script: what the fair price does for `duration_s` simulated seconds."""

    kind: PhaseKind
    duration_s: float
    move_bps: float = 0.0


def quiet(duration_s: float) -> Phase:
    """A tight, mean-reverting range (compression)."""
    return Phase(kind="quiet", duration_s=duration_s)


def breakout(duration_s: float, move_bps: float) -> Phase:
    """A steady move of `move_bps` (negative: down) over the phase, with a busy tape."""
    return Phase(kind="breakout", duration_s=duration_s, move_bps=move_bps)


def fakeout(duration_s: float, move_bps: float) -> Phase:
    """A quick poke of `move_bps` that fails and falls back to where the phase started."""
    return Phase(kind="fakeout", duration_s=duration_s, move_bps=move_bps)


@dataclass(slots=True)
class ScriptedPriceProcess(PriceProcess):
    """A `PriceProcess` whose path follows phases instead of the regime chain."""

    phases: tuple[Phase, ...] = ()
    phase_index: int = 0
    phase_elapsed_s: float = 0.0
    phase_start_log: float = 0.0
    history: list[str] = field(default_factory=list)

    def advance(self, dt_s: float, rng: random.Random) -> None:
        """Move the fair price by `dt_s` along the current phase."""
        phase = self._phase(dt_s)
        vol = MOVE_VOL_BPS_PER_SQRT_S / 1e4
        drift = 0.0
        pull = 0.0
        if phase is None or phase.kind == "quiet":
            self.regime = Regime.QUIET
            vol = QUIET_VOL_BPS_PER_SQRT_S / 1e4
            pull = -QUIET_REVERSION_PER_S * (self.fair_log - self.phase_start_log)
        elif phase.kind == "breakout":
            self.regime = Regime.BREAKOUT
            drift = phase.move_bps / 1e4 / phase.duration_s
        elif self.phase_elapsed_s < FAKEOUT_RISE_SHARE * phase.duration_s:
            self.regime = Regime.FAKEOUT
            drift = phase.move_bps / 1e4 / (FAKEOUT_RISE_SHARE * phase.duration_s)
        else:
            self.regime = Regime.QUIET  # the move failed: balanced flow, back into the range
            pull = -FAKEOUT_REVERSION_PER_S * (self.fair_log - self.phase_start_log)
        self.direction = -1.0 if phase is not None and phase.move_bps < 0 else 1.0
        noise = vol * math.sqrt(dt_s) * rng.gauss(0.0, 1.0)
        self.fair_log += (drift + pull) * dt_s + noise

    def _phase(self, dt_s: float) -> Phase | None:
        self.phase_elapsed_s += dt_s
        while self.phase_index < len(self.phases):
            current = self.phases[self.phase_index]
            if self.phase_elapsed_s <= current.duration_s:
                return current
            self.phase_elapsed_s -= current.duration_s
            self.phase_index += 1
            # Each phase (and the quiet after the script) starts from where the price is now.
            self.phase_start_log = self.fair_log
            self.history.append(current.kind)
        return None


def script_market(market: SymbolMarket, phases: Iterable[Phase]) -> ScriptedPriceProcess:
    """Make `market` follow `phases` from now on (call before the simulation runs)."""
    current = market.process
    scripted = ScriptedPriceProcess(
        fair_log=current.fair_log,
        regime_time_scale=current.regime_time_scale,
        anchor_log=current.anchor_log,
        range_center_log=current.range_center_log,
        level_log=current.level_log,
        phases=tuple(phases),
        phase_start_log=current.fair_log,
    )
    market.process = scripted
    return scripted


def script_markets(
    feeds: Mapping[str, object], scripts: Mapping[str, Sequence[Phase]]
) -> dict[str, ScriptedPriceProcess]:
    """Script several symbols of a simulated exchange's feeds (`SimExchange.feeds`)."""
    scripted: dict[str, ScriptedPriceProcess] = {}
    for symbol, phases in scripts.items():
        market = feeds.get(symbol)
        if not isinstance(market, SymbolMarket):
            raise ValueError(f"{symbol} is not a simulated market of this exchange")
        scripted[symbol] = script_market(market, phases)
    return scripted
