"""Market regimes and the Markov chain that switches between them.

A regime sets how the fair price drifts and wiggles, how busy the tape is and which side the
aggressors favour. The chain is the story a breakout trader looks for: a quiet range that
compresses, a breakout (or a fake-out that falls back into the range), a retest of the broken
level, and now and then a dump.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Regime(StrEnum):
    """The market's current mode."""

    QUIET = "quiet"
    BREAKOUT = "breakout"
    RETEST = "retest"
    FAKEOUT = "fakeout"
    DUMP = "dump"


@dataclass(frozen=True, kw_only=True)
class RegimeParams:
    """Behaviour of the market inside one regime."""

    mean_duration_s: float
    # Fair-price drift in basis points per minute, signed by the regime's direction.
    drift_bps_per_min: float
    # Diffusion of the fair price: standard deviation in basis points over one second.
    vol_bps_per_sqrt_s: float
    # Pull back toward the range centre (per second), 0 for none.
    reversion_per_s: float
    # Multiplier of the symbol's base trade rate.
    activity: float
    # Share of aggressive volume on the regime direction's side (0.5 is balanced).
    directional_share: float


REGIMES: dict[Regime, RegimeParams] = {
    Regime.QUIET: RegimeParams(
        mean_duration_s=900,
        drift_bps_per_min=0.0,
        vol_bps_per_sqrt_s=0.8,
        reversion_per_s=0.01,
        activity=0.7,
        directional_share=0.5,
    ),
    Regime.BREAKOUT: RegimeParams(
        mean_duration_s=180,
        drift_bps_per_min=12.0,
        vol_bps_per_sqrt_s=2.0,
        reversion_per_s=0.0,
        activity=2.5,
        directional_share=0.68,
    ),
    Regime.RETEST: RegimeParams(
        mean_duration_s=240,
        drift_bps_per_min=0.0,
        vol_bps_per_sqrt_s=1.2,
        reversion_per_s=0.0,
        activity=1.2,
        directional_share=0.45,
    ),
    Regime.FAKEOUT: RegimeParams(
        mean_duration_s=150,
        drift_bps_per_min=10.0,
        vol_bps_per_sqrt_s=1.8,
        reversion_per_s=0.0,
        activity=1.8,
        directional_share=0.6,
    ),
    Regime.DUMP: RegimeParams(
        mean_duration_s=120,
        drift_bps_per_min=30.0,
        vol_bps_per_sqrt_s=3.5,
        reversion_per_s=0.0,
        activity=4.0,
        directional_share=0.75,
    ),
}

# Where a regime goes when it ends (weights). A fake-out drops back into a quiet range; a
# breakout is usually retested; a retest either resumes the move or settles into a range.
TRANSITIONS: dict[Regime, dict[Regime, float]] = {
    Regime.QUIET: {
        Regime.BREAKOUT: 0.45,
        Regime.FAKEOUT: 0.35,
        Regime.DUMP: 0.1,
        Regime.QUIET: 0.1,
    },
    Regime.BREAKOUT: {Regime.RETEST: 0.6, Regime.QUIET: 0.3, Regime.DUMP: 0.1},
    Regime.RETEST: {Regime.BREAKOUT: 0.35, Regime.QUIET: 0.65},
    Regime.FAKEOUT: {Regime.QUIET: 0.85, Regime.DUMP: 0.15},
    Regime.DUMP: {Regime.QUIET: 0.7, Regime.RETEST: 0.3},
}


def next_regime(current: Regime, rng: random.Random) -> Regime:
    """Draw the regime that follows `current`."""
    choices = TRANSITIONS[current]
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def draw_duration_s(regime: Regime, rng: random.Random, time_scale: float) -> float:
    """How long a regime lasts: exponential around its mean, scaled (tests shorten regimes)."""
    return rng.expovariate(1.0 / (REGIMES[regime].mean_duration_s * time_scale))
