"""Request weights and the per-minute meter."""

from __future__ import annotations

from breakout.exchange_sim.weights import WeightMeter, request_weight


def test_weights_follow_binance() -> None:
    assert request_weight("GET", "depth", {"symbol": "BTCUSDT", "limit": "1000"}) == 50
    assert request_weight("GET", "depth", {"symbol": "BTCUSDT"}) == 5
    assert request_weight("GET", "depth", {"symbol": "BTCUSDT", "limit": "5000"}) == 250
    assert request_weight("GET", "ticker/24hr", {"symbol": "BTCUSDT"}) == 2
    assert request_weight("GET", "ticker/24hr", {}) == 80
    assert request_weight("GET", "exchangeInfo", {}) == 20
    assert request_weight("GET", "openOrders", {}) == 80
    assert request_weight("POST", "order", {}) == 1


def test_meter_refuses_past_the_limit_until_the_minute_ends() -> None:
    meter = WeightMeter(limit_per_minute=100)
    minute = 1_700_000_040_000  # a whole minute
    assert meter.charge("a", 60, minute + 1_000) == (60, None)
    assert meter.charge("a", 50, minute + 20_500) == (60, 40)  # refused: 40 s left
    assert meter.charge("b", 50, minute + 20_500) == (50, None)  # per client
    assert meter.charge("a", 40, minute + 30_000) == (100, None)
    assert meter.charge("a", 50, minute + 60_000) == (50, None)  # a new minute


def test_meter_without_a_limit_only_counts() -> None:
    meter = WeightMeter(limit_per_minute=None)
    assert meter.charge("a", 10_000, 0) == (10_000, None)
