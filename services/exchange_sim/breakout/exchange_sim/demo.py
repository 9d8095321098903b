"""The `demo` scenario: what `make run` simulates so a newcomer sees a trade within minutes.

A market left to its regime chain breaks out when it breaks out (a quiet range lasts 15 minutes
on average), and a macro world drawn from the seed is as often risk-off or choppy as risk-on, in
which case the system rightly trades nothing. The demo tells one story instead:

- the macro world has been **risk-on** for the last day and a half (the dollar falling, BTC
  dominance easing, dovish and growth headlines), so the regime service decides RISK_ON on its
  first poll;
- the first `DEMO_SYMBOLS` symbols have been in a tight **base** for the last
  `BASE_MINUTES` of their history, stay in it after the start, then **break out**: each breakout
  fills exactly one one-minute bar (a busy tape leaning to the buy side eats the asks and the
  walls above the base) and the move carries on more slowly afterwards.

The simulated clock starts up to a minute ahead of the wall so that the first breakout bar
opens `FIRST_BREAKOUT_S` after the start, on a minute boundary (bars of every timeframe are
aligned to the minute). Everything else (makers, walls, takers, other symbols) is the ordinary
simulator, and the result is as deterministic as the rest: seed, start and scenario fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from breakout.exchange_sim.klines import MINUTE_MS
from breakout.exchange_sim.macro_world import MacroSegment, segment
from breakout.exchange_sim.scenario import Phase, breakout, quiet

SCENARIOS = ("none", "demo")
# The first breakout bar opens early and closes at 90 s: an idle machine follows the market by
# then (every service answers ~45 s after `make run`, the first scan ~60 s). A loaded one comes
# up minutes later, so the scripted symbols break out one bar after another, a bar a minute
# for DEMO_SYMBOLS minutes: whenever the signals are armed, the next breakout closes within a
# minute (and a rejected one has a successor).
FIRST_BREAKOUT_S = 30
BREAKOUT_STAGGER_S = 60
BREAKOUT_BAR_S = 60
BREAKOUT_MOVE_BPS = 22.0
FOLLOW_THROUGH_S = 600
FOLLOW_THROUGH_MOVE_BPS = 60.0
DEMO_SYMBOLS = 6
BASE_MINUTES = 480
# The macro world starts a week back; its last `RISK_ON_HOURS` are risk-on.
RISK_ON_HOURS = 36
WORLD_HOURS = 7 * 24


def demo_start_ms(wall_ms: int) -> int:
    """A simulated start at most a minute after `wall_ms` whose first breakout opens a bar."""
    first_breakout_ms = wall_ms + FIRST_BREAKOUT_S * 1000
    shift_ms = -first_breakout_ms % MINUTE_MS
    return wall_ms + shift_ms


def demo_symbols(symbols: Sequence[str]) -> tuple[str, ...]:
    """The symbols the demo scripts: the first `DEMO_SYMBOLS` listed."""
    return tuple(symbols[:DEMO_SYMBOLS])


def demo_scripts(symbols: Sequence[str]) -> dict[str, list[Phase]]:
    """Each scripted symbol: the base, one breakout bar, then a slower follow-through."""
    scripts: dict[str, list[Phase]] = {}
    for index, symbol in enumerate(demo_symbols(symbols)):
        base_s = FIRST_BREAKOUT_S + index * BREAKOUT_STAGGER_S
        scripts[symbol] = [
            quiet(base_s),
            breakout(BREAKOUT_BAR_S, move_bps=BREAKOUT_MOVE_BPS),
            breakout(FOLLOW_THROUGH_S, move_bps=FOLLOW_THROUGH_MOVE_BPS),
        ]
    return scripts


def demo_macro_script() -> list[MacroSegment]:
    """A calm week that turned risk-on a day and a half ago, with a busy news wire."""
    return [
        segment("calm", WORLD_HOURS - RISK_ON_HOURS),
        segment("risk_on", RISK_ON_HOURS + 48, headlines_per_h=4.0),
    ]


def demo_macro_start(now: datetime) -> datetime:
    """The macro world's start: a week before the current hour (as an unscripted world)."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=WORLD_HOURS)
