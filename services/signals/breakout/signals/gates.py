"""The filters every entry passes: not paused, no activity drop, the regime permits it.

`RegimeView` is what the signals service keeps of the regime service's decisions. Without any
decision seen (no regime service running) the regime check is skipped, noted as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from breakout.common.events.sig import Check, TradeSide
from breakout.common.presets import Preset
from breakout.signals.checks import is_true, skipped
from breakout.signals.view import SymbolView


class RegimeView(msgspec.Struct, kw_only=True):
    """The latest regime decision: its state and what it permits."""

    state: str
    sides_allowed: list[str]
    presets_allowed: list[str]
    stale: bool = False


@dataclass(frozen=True)
class Gate:
    """Everything an entry rule reads besides its bar: the preset, the symbol, the context."""

    preset: Preset
    view: SymbolView
    regime: RegimeView | None = None
    paused: bool = False


def regime_permits(regime: RegimeView, preset: str, side: TradeSide) -> bool:
    """CHOP stops everything; otherwise the side and the preset must both be allowed."""
    return (
        regime.state != "CHOP" and side in regime.sides_allowed and preset in regime.presets_allowed
    )


def gate_checks(gate: Gate, side: TradeSide) -> list[Check]:
    """The checks every entry carries (the preset decides which apply)."""
    config = gate.preset.signal_config
    checks = [is_true("not_paused", not gate.paused, "ctl.pause" if gate.paused else "")]
    if config.reject_on_activity_drop:
        checks.append(is_true("activity_not_dropped", not gate.view.activity_dropped))
    if config.respect_regime:
        regime = gate.regime
        if regime is None:
            checks.append(skipped("regime_permits", "no regime decision seen"))
        else:
            note = (
                f"{regime.state}{' (stale)' if regime.stale else ''}: sides "
                f"{','.join(regime.sides_allowed) or '-'}; presets "
                f"{','.join(regime.presets_allowed) or '-'}"
            )
            permitted = regime_permits(regime, gate.preset.name, side)
            checks.append(is_true("regime_permits", permitted, note))
    return checks
