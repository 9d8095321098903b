"""The fair price of a symbol: a regime chain driving drift, diffusion and reversion.

One process serves both the live market (steps of 100 ms) and the backfilled history (steps of
one minute), so both tell the same story. Besides the regimes' own moves, a weak pull toward a
long-run anchor (half-life of about a day) keeps a symbol's price within a plausible band over
days instead of wandering off: simulated dumps and breakouts do not add up to a crash.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

from breakout.exchange_sim.regimes import REGIMES, Regime, draw_duration_s, next_regime

ANCHOR_REVERSION_PER_S = math.log(2) / 86_400
FAKEOUT_REVERSION_PER_S = 0.03
RETEST_PULL_PER_S = 0.006


@dataclass(slots=True)
class PriceProcess:
    """State of the fair price (in log) and of the regime chain."""

    fair_log: float
    regime_time_scale: float = 1.0
    regime: Regime = Regime.QUIET
    regime_elapsed_s: float = 0.0
    regime_duration_s: float = 0.0
    direction: float = 1.0
    anchor_log: float = 0.0
    range_center_log: float = 0.0
    level_log: float = 0.0  # the level a breakout or dump broke: what a retest returns to
    seen: Counter[Regime] = field(default_factory=Counter)

    @classmethod
    def start(cls, price: float, rng: random.Random, regime_time_scale: float) -> PriceProcess:
        """A process in a quiet range at `price`."""
        log_price = math.log(price)
        process = cls(
            fair_log=log_price,
            regime_time_scale=regime_time_scale,
            anchor_log=log_price,
            range_center_log=log_price,
            level_log=log_price,
        )
        process.regime_duration_s = draw_duration_s(Regime.QUIET, rng, regime_time_scale)
        process.seen[Regime.QUIET] += 1
        return process

    def advance(self, dt_s: float, rng: random.Random) -> None:
        """Move the regime chain and the fair price by `dt_s` seconds."""
        self._advance_regime(dt_s, rng)
        params = REGIMES[self.regime]
        progress = self.regime_elapsed_s / max(self.regime_duration_s, 1e-9)
        vol = params.vol_bps_per_sqrt_s / 1e4
        drift = self.direction * params.drift_bps_per_min / 1e4 / 60
        pull = -ANCHOR_REVERSION_PER_S * (self.fair_log - self.anchor_log)
        if self.regime is Regime.QUIET:
            vol *= max(0.35, 1.0 - 0.65 * progress)  # a range compresses as it ages
            pull -= params.reversion_per_s * (self.fair_log - self.range_center_log)
        elif self.regime is Regime.FAKEOUT and progress > 0.5:
            drift = 0.0  # the move fails and falls back into the range
            pull -= FAKEOUT_REVERSION_PER_S * (self.fair_log - self.range_center_log)
        elif self.regime is Regime.RETEST:
            drift = 0.0
            pull -= RETEST_PULL_PER_S * (self.fair_log - self.level_log)
        noise = vol * math.sqrt(dt_s) * rng.gauss(0.0, 1.0)
        self.fair_log += (drift + pull) * dt_s + noise

    def _advance_regime(self, dt_s: float, rng: random.Random) -> None:
        self.regime_elapsed_s += dt_s
        if self.regime_elapsed_s < self.regime_duration_s:
            return
        self.regime = next_regime(self.regime, rng)
        self.seen[self.regime] += 1
        self.regime_elapsed_s = 0.0
        self.regime_duration_s = draw_duration_s(self.regime, rng, self.regime_time_scale)
        if self.regime is Regime.QUIET:
            self.range_center_log = self.fair_log
        elif self.regime is Regime.BREAKOUT:
            self.level_log = self.fair_log
            # Breakouts lean back toward the anchor: the long run stays balanced.
            up_p = 0.5 - max(-0.3, min(0.3, (self.fair_log - self.anchor_log) * 5))
            self.direction = 1.0 if rng.random() < up_p else -1.0
        elif self.regime is Regime.FAKEOUT:
            self.range_center_log = self.fair_log
            self.direction = rng.choice((-1.0, 1.0))
        elif self.regime is Regime.DUMP:
            self.level_log = self.fair_log
            self.direction = -1.0
        elif self.regime is Regime.RETEST:
            self.direction = 1.0 if self.level_log > self.fair_log else -1.0
