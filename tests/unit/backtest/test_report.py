"""Report metrics against small hand-computed cases."""

from __future__ import annotations

import math

import pytest

from breakout.backtest.report import (
    Trade,
    equity_curve,
    exposure,
    max_drawdown,
    performance,
    period_returns,
    sharpe,
    sortino,
)

HOUR = 3_600_000


def trade(pnl: float, r: float, opened: int, closed: int, symbol: str = "BTCUSDT") -> Trade:
    return Trade(
        position_id=f"p{opened}",
        preset="p",
        symbol=symbol,
        side="long",
        opened_ts_ms=opened,
        closed_ts_ms=closed,
        entry_price=100.0,
        exit_price=100.0,
        qty=1.0,
        stop_price=99.0,
        target_price=None,
        realized_quote=pnl,
        realized_r=r,
        fees_quote=0.1,
        reason="stop",
    )


TRADES = [
    trade(100.0, 1.0, 0, HOUR // 2),
    trade(-50.0, -0.5, HOUR, HOUR + HOUR // 2),
    trade(200.0, 2.0, 2 * HOUR, 2 * HOUR + HOUR // 4),
    trade(-100.0, -1.0, 3 * HOUR, 4 * HOUR - 1),
]


def test_performance_of_four_trades() -> None:
    perf = performance(TRADES)
    assert perf.trades == 4 and perf.wins == 2
    assert perf.win_rate == 0.5
    assert perf.average_r == pytest.approx(0.375)  # (1 - 0.5 + 2 - 1) / 4
    assert perf.expectancy_quote == pytest.approx(37.5)  # 150 / 4
    assert perf.profit_factor == pytest.approx(2.0)  # 300 / 150
    assert perf.net_quote == pytest.approx(150.0)
    assert perf.fees_quote == pytest.approx(0.4)


def test_no_losing_trade_has_no_profit_factor_and_no_trades_no_rates() -> None:
    assert performance(TRADES[:1]).profit_factor is None
    empty = performance([])
    assert (empty.win_rate, empty.average_r, empty.expectancy_quote) == (None, None, None)


def test_equity_and_max_drawdown() -> None:
    curve = equity_curve(TRADES, 1000.0)
    assert [e for _, e in curve] == [1100.0, 1050.0, 1250.0, 1150.0]
    dd_quote, dd_frac = max_drawdown(1000.0, curve)
    assert dd_quote == pytest.approx(100.0)  # 1250 -> 1150
    assert dd_frac == pytest.approx(100.0 / 1250.0)


def test_period_returns_sharpe_and_sortino() -> None:
    returns = period_returns(TRADES, 1000.0, 0, 4 * HOUR - 1, HOUR)
    expected = [100 / 1000, -50 / 1100, 200 / 1050, -100 / 1250]
    assert returns == pytest.approx(expected)
    mean = sum(expected) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in expected) / 3)
    per_year = math.sqrt(365 * 24)
    assert sharpe(returns, HOUR) == pytest.approx(mean / std * per_year)
    downside = math.sqrt(((50 / 1100) ** 2 + (100 / 1250) ** 2) / 4)
    assert sortino(returns, HOUR) == pytest.approx(mean / downside * per_year)


def test_sharpe_needs_two_periods_and_a_spread() -> None:
    assert sharpe([0.1], HOUR) is None
    assert sharpe([0.1, 0.1], HOUR) is None
    assert sortino([0.1, 0.2], HOUR) is None  # no negative period


def test_exposure_counts_overlaps_once_and_open_positions_to_the_end() -> None:
    overlapping = [trade(1, 1, 0, 10), trade(1, 1, 5, 20), trade(1, 1, 50, 60)]
    assert exposure(overlapping, [], 100) == pytest.approx(0.30)  # [0,20] + [50,60]
    assert exposure(overlapping, [(90, 100)], 100) == pytest.approx(0.40)
