"""Replay mode: recorded trades and books drive the exchange; our orders still trade."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from breakout.common.events.base import encode_event
from breakout.common.events.md import BookSnapshot, MarketTrade
from breakout.exchange_sim.accounts import AccountConfig, Accounts
from breakout.exchange_sim.orders import OrderStatus, parse_order_request
from breakout.exchange_sim.replay import ReplayFeed, infer_decimals, load_replay

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
START_MS = 1_700_000_000_000
T0 = 1_600_000_000_000


def _trade(i: int, price: float, qty: float, side: str, symbol: str = "BTCUSDT") -> MarketTrade:
    return MarketTrade(
        exchange="binance",
        symbol=symbol,
        trade_id=i,
        price=price,
        qty=qty,
        side=side,  # type: ignore[arg-type]
        exchange_ts_ms=T0 + i * 100,
        received_ts_ms=T0 + i * 100 + 5,
    )


def _book(ts: int, bid: float, ask: float) -> BookSnapshot:
    return BookSnapshot(
        exchange="binance",
        symbol="BTCUSDT",
        sequence=ts,
        depth=2,
        bids=[(bid, 1.0), (bid - 1, 2.0)],
        asks=[(ask, 1.0), (ask + 1, 2.0)],
        exchange_ts_ms=ts,
        received_ts_ms=ts,
    )


def write_export(path: Path) -> list[MarketTrade]:
    trades = [_trade(i, 100.0 + (i % 3), 0.5, "buy" if i % 2 else "sell") for i in range(1, 30)]
    trades.append(_trade(35, 99.0, 1.0, "sell"))
    events: list[MarketTrade | BookSnapshot] = [_book(T0, 99.0, 100.0), *trades]
    events.append(_trade(40, 50.0, 0.1, "sell", symbol="ETHUSDT"))
    path.write_bytes(
        b"\n".join(encode_event(e) for e in sorted(events, key=lambda e: e.exchange_ts_ms)) + b"\n"
    )
    return trades


def test_infer_decimals() -> None:
    assert infer_decimals([39432.48, 0.1]) == 2
    assert infer_decimals([0.000263, 1.0]) == 6
    assert infer_decimals([3.0]) == 0


def test_jsonl_export_replays_trades_in_order_on_one_timeline(tmp_path: Path) -> None:
    path = tmp_path / "md.jsonl"
    trades = write_export(path)
    exchange = load_replay(path, start_ms=START_MS)
    assert set(exchange.feeds) == {"BTCUSDT", "ETHUSDT"}
    printed = []
    for _ in range(45):
        printed += [p for u in exchange.step() if u.symbol == "BTCUSDT" for p in u.prints]
    feed = exchange.feeds["BTCUSDT"]
    assert [
        (feed.spec.price_float(p.price), feed.spec.qty_float(p.lots), not p.buyer_maker)
        for p in printed
    ] == [(t.price, t.qty, t.side == "buy") for t in trades]
    assert [p.ts_ms - START_MS for p in printed] == [t.exchange_ts_ms - T0 for t in trades]
    eth = exchange.feeds["ETHUSDT"]
    assert eth.tape.last_print is not None and eth.tape.last_print.ts_ms == START_MS + 40 * 100


def test_resting_order_fills_when_a_recorded_trade_goes_through_it(tmp_path: Path) -> None:
    path = tmp_path / "md.jsonl"
    write_export(path)
    accounts = Accounts([AccountConfig(api_key="k", secret="s", balances={"USDT": Decimal(1000)})])
    exchange = load_replay(path, start_ms=START_MS, accounts=accounts)
    exchange.step()  # the recorded book: 99 / 100
    spec = exchange.feeds["BTCUSDT"].spec
    request = parse_order_request(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.3",
            "price": "99.5",
        },
        spec,
    )
    order = exchange.matching.place("k", request, exchange.now_ms)
    assert order.status is OrderStatus.NEW  # above the best bid, below the best ask
    for _ in range(40):
        exchange.step()
    assert order.status is OrderStatus.FILLED  # the sale printed at 99 went through 99.5
    assert accounts.get("k").balance("BTC").free == Decimal("0.3") - Decimal("0.0003")


@pytest.mark.skipif(not DATA.exists(), reason="no ../shared/data on this machine")
def test_samples_replay_the_real_btcusdt_tape_and_quotes() -> None:
    exchange = load_replay(DATA, start_ms=START_MS)
    feed = exchange.feeds["BTCUSDT"]
    assert isinstance(feed, ReplayFeed)
    recorded = pl.read_parquet(DATA / "btcusdt-trades.parquet").sort("timestamp")
    printed = []
    for _ in range(100):  # ten seconds
        for update in exchange.step():
            assert not exchange.feeds[update.symbol].book.is_crossed()
            if update.symbol == "BTCUSDT":
                printed += update.prints
    assert len(printed) > 100
    prices = [feed.spec.price_float(p.price) for p in printed]
    assert prices == recorded["price"].to_list()[: len(prices)]  # the tape, as recorded
    assert feed.book.best_bid() is not None and feed.book.best_ask() is not None
    assert len(feed.book.bids) > 50  # the recorded snapshot's depth behind the quotes
