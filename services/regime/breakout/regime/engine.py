"""The regime state machine: evidence -> candidate state -> transition, gated and anti-flipped.

Evidence. Each input says which way risk is going, as a number c in [-1, 1]: DXY falling is
risk-on (c = -DXY score), BTC dominance falling is risk-on too (capital leaves the safety of BTC
for alts: c = -BTC.D score), news sentiment is risk-on when positive (c = news score). An input
of weight w puts w*max(c, 0) behind RISK_ON, w*max(-c, 0) behind RISK_OFF and w*(1 - |c|) behind
CHOP (a flat input is evidence of no trend). An input not known yet puts nothing anywhere, so
the masses sum to the known weight and missing data lowers every state's confidence.

Decoupling. When crypto-specific news dominates (its share of the live news weight at least
`decoupled_news_share`) and crypto's inputs (BTC.D and news) point the other way from the
dollar, the directional evidence is evidence that crypto trades on its own: the RISK_ON and
RISK_OFF masses both move to DECOUPLED.

Decision. The candidate is the state with the largest mass (ties: CHOP, RISK_OFF, RISK_ON,
DECOUPLED, the cautious first); its mass is the confidence. The regime moves to the candidate only
when the confidence is above `min_confidence` and the current state has lasted
`min_time_in_state_s` (the first decision has no minimum). A blocked move is a `RegimeHeld`.
"""

from __future__ import annotations

import msgspec

from breakout.common.events.regime import (
    HoldReason,
    RegimeChanged,
    RegimeHeld,
    RegimeInputs,
    RegimeState,
    RegimeWeights,
    TrendReading,
)
from breakout.regime.config import RegimeConfig
from breakout.regime.news import NewsPicture

CAUTION_ORDER: tuple[RegimeState, ...] = ("CHOP", "RISK_OFF", "RISK_ON", "DECOUPLED")


def _risk(reading: TrendReading) -> float | None:
    # A rising dollar or a rising BTC dominance is risk-off.
    return None if reading.direction == "UNKNOWN" else -reading.score


def regime_masses(
    dxy: TrendReading,
    btcd: TrendReading,
    news: NewsPicture,
    weights: RegimeWeights,
    config: RegimeConfig,
) -> dict[RegimeState, float]:
    """Share of the weighted evidence behind each state (see the module docstring)."""
    dxy_c, btcd_c, news_c = _risk(dxy), _risk(btcd), news.score
    masses: dict[RegimeState, float] = dict.fromkeys(CAUTION_ORDER, 0.0)
    for weight, c in ((weights.dxy, dxy_c), (weights.btcd, btcd_c), (weights.news, news_c)):
        if c is None:
            continue
        masses["RISK_ON"] += weight * max(c, 0.0)
        masses["RISK_OFF"] += weight * max(-c, 0.0)
        masses["CHOP"] += weight * (1.0 - abs(c))
    crypto_c = weights.btcd * (btcd_c or 0.0) + weights.news * (news_c or 0.0)
    opposed = dxy_c is not None and dxy_c * crypto_c < 0
    if opposed and news.decoupled_share >= config.decoupled_news_share:
        masses["DECOUPLED"] = masses["RISK_ON"] + masses["RISK_OFF"]
        masses["RISK_ON"] = masses["RISK_OFF"] = 0.0
    return {state: round(mass, 6) for state, mass in masses.items()}


def pick_candidate(masses: dict[RegimeState, float]) -> tuple[RegimeState, float]:
    """The state with the most evidence (ties go to the more cautious) and its confidence."""
    best = max(CAUTION_ORDER, key=lambda s: (masses[s], -CAUTION_ORDER.index(s)))
    return best, masses[best]


class RegimeMachine(msgspec.Struct, kw_only=True):
    """Current state, since when, and the last hold reported (holds are reported on change)."""

    state: RegimeState | None = None
    entered_ts_ms: int | None = None
    last_hold: tuple[str, str] | None = None

    def time_in_state_s(self, now_ms: int) -> float | None:
        """Seconds spent in the current state (None before the first decision)."""
        return None if self.entered_ts_ms is None else (now_ms - self.entered_ts_ms) / 1000.0

    def evaluate(
        self, now_ms: int, inputs: RegimeInputs, config: RegimeConfig, config_id: str
    ) -> RegimeChanged | RegimeHeld | None:
        """Decide at `now_ms` on `inputs`: a change, a (newly) blocked change, or nothing."""
        candidate, confidence = pick_candidate(inputs.masses)
        if confidence == 0.0:
            return None  # no input known yet: nothing to decide on, nothing to report
        if candidate == self.state:
            self.last_hold = None
            return None
        in_state_s = self.time_in_state_s(now_ms)
        blocked: HoldReason | None = None
        if not confidence > config.min_confidence:
            blocked = "confidence_gate"
        elif in_state_s is not None and in_state_s < config.min_time_in_state_s:
            blocked = "min_time_in_state"
        if blocked is not None:
            return self._hold(
                now_ms,
                candidate=candidate,
                confidence=confidence,
                blocked=blocked,
                inputs=inputs,
                config=config,
                config_id=config_id,
            )
        changed = RegimeChanged(
            state=candidate,
            previous_state=self.state,
            confidence=confidence,
            min_confidence=config.min_confidence,
            time_in_previous_s=in_state_s,
            min_time_in_state_s=config.min_time_in_state_s,
            inputs=inputs,
            permissions=config.permissions[candidate],
            decided_ts_ms=now_ms,
            config_id=config_id,
        )
        self.state, self.entered_ts_ms, self.last_hold = candidate, now_ms, None
        return changed

    def _hold(
        self,
        now_ms: int,
        *,
        candidate: RegimeState,
        confidence: float,
        blocked: HoldReason,
        inputs: RegimeInputs,
        config: RegimeConfig,
        config_id: str,
    ) -> RegimeHeld | None:
        # Report a hold when its candidate or reason changes, not on every evaluation.
        if self.last_hold == (candidate, blocked):
            return None
        self.last_hold = (candidate, blocked)
        return RegimeHeld(
            state=self.state,
            candidate=candidate,
            confidence=confidence,
            min_confidence=config.min_confidence,
            blocked_by=blocked,
            time_in_state_s=self.time_in_state_s(now_ms),
            min_time_in_state_s=config.min_time_in_state_s,
            inputs=inputs,
            decided_ts_ms=now_ms,
            config_id=config_id,
        )
