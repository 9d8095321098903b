"""The scanner's filters (pass and fail at the edge of each threshold), universes and scoring."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from breakout.common.events.sig import Check
from breakout.signals.scanner import scan_rows, select_universe, symbol_checks, zscores
from breakout.signals.view import SymbolView, fold_market
from tests.unit.signals.factories import indicators, liquid_view, preset, ticker

DEFAULT = preset()


def _check(view: SymbolView, name: str, **sections: Any) -> Check:
    found = [c for c in symbol_checks(view, preset(**sections) if sections else DEFAULT)]
    return next(c for c in found if c.name == name)


def _with_15m(view: SymbolView, **values: Any) -> SymbolView:
    current = msgspec.structs.asdict(view.indicators["15m"])
    current.pop("type", None)
    current.update(values)
    view.indicators["15m"] = indicators(**current)
    return view


def test_a_liquid_view_passes_every_filter() -> None:
    checks = symbol_checks(liquid_view(), DEFAULT)
    assert [c.name for c in checks if not c.passed] == []


# (view attribute, check name, default threshold, "at least" or "at most")
LIQUIDITY = [
    ("volume_24h_usd", "volume_24h_usd", 200e6, ">="),
    ("spread_bps", "spread_bps", 2.0, "<="),
    ("depth_0_3pct_usd", "depth_usd_0_3pct", 100e3, ">="),
    ("depth_0_5pct_usd", "depth_usd_0_5pct", 200e3, ">="),
    ("tpm", "trades_per_minute", 10.0, ">="),
]


@pytest.mark.parametrize(("attribute", "name", "threshold", "op"), LIQUIDITY)
def test_liquidity_filters_pass_at_the_threshold_and_fail_just_past_it(
    attribute: str, name: str, threshold: float, op: str
) -> None:
    at_edge = _check(liquid_view(**{attribute: threshold}), name)
    assert at_edge.passed and at_edge.margin == 0 and at_edge.threshold == threshold
    worse = threshold * 0.99 if op == ">=" else threshold * 1.01
    failed = _check(liquid_view(**{attribute: worse}), name)
    assert not failed.passed
    assert failed.margin == pytest.approx(-threshold * 0.01)
    assert not _check(liquid_view(**{attribute: None}), name).passed


def test_open_interest_is_checked_only_where_the_preset_asks_for_it() -> None:
    assert _check(liquid_view(), "open_interest_usd").passed  # spot preset: no OI required
    sections = {"liquidity_filters": {"min_oi_usd": 20e6}}
    assert _check(liquid_view(oi_usd=20e6), "open_interest_usd", **sections).passed
    assert not _check(liquid_view(oi_usd=19.9e6), "open_interest_usd", **sections).passed
    missing = _check(liquid_view(), "open_interest_usd", **sections)
    assert not missing.passed and missing.note == "no data yet"


@pytest.mark.parametrize(
    ("field", "name", "passing", "failing"),
    [
        # The features record ATR in percent of the price; the preset bounds it as a fraction.
        ("atr_pct", "atr_pct_min", 0.15, 0.149),
        ("atr_pct", "atr_pct_max", 3.0, 3.01),
        ("bb_width_percentile", "bb_width_percentile", 40.0, 40.1),
        ("corr_reference", "abs_correlation", -0.25, -0.26),
    ],
)
def test_volatility_and_correlation_filters_at_their_edges(
    field: str, name: str, passing: float, failing: float
) -> None:
    assert _check(_with_15m(liquid_view(), **{field: passing}), name).passed
    assert not _check(_with_15m(liquid_view(), **{field: failing}), name).passed


@pytest.mark.parametrize(
    ("timeframe", "name"), [("1h", "volume_surge_1h"), ("5m", "volume_surge_5m")]
)
def test_volume_surge_filters_at_their_edges(timeframe: str, name: str) -> None:
    sections = {"volatility_filters": {"volume_surge_1h_min": 1.5, "volume_surge_5m_min": 1.5}}
    view = liquid_view()
    view.indicators[timeframe] = indicators(timeframe=timeframe, volume_surge=1.5)
    assert _check(view, name, **sections).passed
    view.indicators[timeframe] = indicators(timeframe=timeframe, volume_surge=1.49)
    assert not _check(view, name, **sections).passed
    del view.indicators[timeframe]
    assert not _check(view, name, **sections).passed
    # A minimum of 0 is not a requirement: without data the filter is skipped.
    zero = {"volatility_filters": {"volume_surge_1h_min": 0, "volume_surge_5m_min": 0}}
    assert _check(view, name, **zero).passed


def test_oi_delta_is_required_only_when_set() -> None:
    sections = {"volatility_filters": {"oi_delta_min": 0.02}}
    assert _check(liquid_view(oi_delta=0.02), "oi_delta", **sections).passed
    assert not _check(liquid_view(oi_delta=0.019), "oi_delta", **sections).passed
    assert _check(liquid_view(), "oi_delta").passed


def test_a_correlated_symbol_is_penalised_or_rejected_as_the_preset_says() -> None:
    correlated = _with_15m(liquid_view("SOLUSDT"), symbol="SOLUSDT", corr_reference=0.75)
    independent = liquid_view("ADAUSDT")
    rows, candidates = scan_rows([correlated, independent], DEFAULT)
    by_symbol = {row.symbol: row for row in rows}
    assert by_symbol["SOLUSDT"].passed
    assert by_symbol["SOLUSDT"].components["penalty"] == pytest.approx(0.5)
    assert candidates == ["ADAUSDT", "SOLUSDT"]
    strict = preset(correlation={"reject_above_limit": True})
    rows, candidates = scan_rows([correlated, independent], strict)
    assert candidates == ["ADAUSDT"]
    assert [r.symbol for r in rows if not r.passed] == ["SOLUSDT"]


def test_rows_rank_by_weighted_zscores_and_keep_the_top_n() -> None:
    views = []
    for i, symbol in enumerate(["AAAUSDT", "BBBUSDT", "CCCUSDT"]):
        view = liquid_view(symbol, tpm=20.0 + 10 * i)
        view.indicators["5m"] = indicators(symbol, "5m", volume_surge=1.0 + i)
        views.append(view)
    views.append(liquid_view("DDDUSDT", spread_bps=5.0))  # fails the spread filter
    rows, candidates = scan_rows(views, preset(scanner={"top_n": 2}))
    assert candidates == ["CCCUSDT", "BBBUSDT"]
    assert [(r.symbol, r.rank) for r in rows] == [
        ("CCCUSDT", 1),
        ("BBBUSDT", 2),
        ("AAAUSDT", 3),
        ("DDDUSDT", None),
    ]
    top = rows[0].components
    weights = DEFAULT.scanner.weights
    expected = (
        weights.vol_surge * top["z_vol_surge"]
        + weights.trades_per_minute * top["z_trades_per_minute"]
    )
    assert rows[0].score == pytest.approx(expected)
    assert rows[3].score is None and not rows[3].passed


def test_zscores_of_equal_or_single_values_are_zero() -> None:
    assert zscores({"A": 1.0}) == {"A": 0.0}
    assert zscores({"A": 1.0, "B": 1.0}) == {"A": 0.0, "B": 0.0}
    assert zscores({"A": 1.0, "B": 3.0}) == {"A": -1.0, "B": 1.0}


def test_universes_select_gainers_losers_or_volume_from_tickers() -> None:
    views = []
    for symbol, change, volume in [
        ("AAAUSDT", 12.0, 100e6),
        ("BBBUSDT", -8.0, 900e6),
        ("CCCUSDT", 3.0, 400e6),
        ("DDDBTC", 40.0, 999e6),  # another quote: never scanned by a USDT preset
    ]:
        view = SymbolView(exchange="binance", symbol=symbol)
        fold_market(view, ticker(symbol, change, volume))
        views.append(view)
    views.append(SymbolView(exchange="binance", symbol="EEEUSDT"))  # no ticker yet

    def pick(universe: str) -> list[str]:
        config = preset(scanner={"universe": universe, "universe_size": 2}).scanner
        return [v.symbol for v in select_universe(views, config)]

    assert pick("top_gainers") == ["AAAUSDT", "CCCUSDT"]
    assert pick("top_losers") == ["BBBUSDT", "CCCUSDT"]
    assert pick("top_volume") == ["BBBUSDT", "CCCUSDT"]
    assert pick("all") == ["AAAUSDT", "BBBUSDT", "CCCUSDT", "EEEUSDT"]
