"""Market data from files, as the md.* events the live services record.

A backtest runs the live cores, so its input must be what ingest records: `MarketTrade`,
`BookSnapshot` and `Candle` events. This module reads the usual research formats as they come
(Parquet, CSV, Arrow/Feather, freqtrade's gzipped JSON trades, Tardis book snapshots, Binance
depth snapshot + diffs, Bybit order-book websocket captures) and recognises what a file holds
from its columns. Events come in exchange-time order and carry the exchange's own ids (trade
ids, update ids), from which a run derives event ids the way ingest does.

What a file lacks is said, never invented: candles have no trades or book, so a run on them
reports that the microstructure filters had no input (`LoadedData.kind`).
"""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from breakout.common.events import BookSnapshot, Candle, Event, MarketTrade
from breakout.common.events.md import TIMEFRAME_MS, Timeframe

DataKind = Literal["trades", "book", "candles"]
_TIMEFRAME_IN_NAME = re.compile(r"-(1m|5m|15m|1h)\b")
_PAIR_IN_NAME = re.compile(r"^([A-Z0-9]+)_([A-Z0-9]+)-")  # freqtrade's `XRP_ETH-1m`


class UnsupportedData(ValueError):
    """A file whose format or columns this module cannot read as market data."""


@dataclass
class LoadedData:
    """The events of one file, in exchange-time order, and what kind of data they are."""

    kind: DataKind
    symbol: str
    events: list[Event]
    notes: list[str] = field(default_factory=list)


def symbol_from_name(path: Path) -> str:
    """`XRP_ETH-1m.feather` -> `XRPETH`; `btcusdt-trades.parquet` -> `BTCUSDT`."""
    name = path.name
    pair = _PAIR_IN_NAME.match(name)
    if pair:
        return pair.group(1) + pair.group(2)
    for token in re.split(r"[-_.]", name):
        if token.upper().endswith(("USDT", "USDC", "BTC", "ETH")) and len(token) > 4:
            return token.upper()
    raise UnsupportedData(f"{name}: no symbol in the file name; pass symbol=")


def load_depth(snapshot: Path, diffs: Path, *, symbol: str | None = None) -> LoadedData:
    """A Binance depth snapshot file and the diff file that continues it, as one book."""
    frame = pl.concat([_read_frame(snapshot), _read_frame(diffs)], how="vertical_relaxed")
    return _binance_depth(diffs, frame, symbol or symbol_from_name(snapshot), "binance")


def load_file(
    path: Path,
    *,
    symbol: str | None = None,
    exchange: str = "binance",
    timeframe: Timeframe | None = None,
) -> LoadedData:
    """Read one file of trades, book snapshots/diffs or candles (see the module docstring)."""
    name = path.name.lower()
    if name.endswith(".json.gz"):
        return _freqtrade_trades(path, symbol or symbol_from_name(path), exchange)
    if name.endswith(".zip"):
        return _bybit_book(path, symbol or symbol_from_name(path), exchange)
    frame = _read_frame(path)
    columns = set(frame.columns)
    if symbol is None and "symbol" in columns and frame.height:
        symbol = str(frame.get_column("symbol")[0]).replace("/", "").replace("-", "").upper()
    symbol = symbol or symbol_from_name(path)
    if {"asks[0].price", "bids[0].price"} <= columns:
        return _tardis_book(path, frame, symbol, exchange)
    if {"first_update_id", "update_type", "side", "price", "qty"} <= columns:
        return _binance_depth(path, frame, symbol, exchange)
    if {"bid", "ask", "bid_size", "ask_size"} <= columns:
        return _quotes(path, frame, symbol, exchange)
    if {"open", "high", "low", "close", "volume"} <= columns:
        tf = timeframe or _timeframe_from_name(path)
        return _candles(path, frame, symbol, exchange, tf)
    if "price" in columns and columns & {"quantity", "qty", "amount"}:
        return _tabular_trades(path, frame, symbol, exchange)
    raise UnsupportedData(f"{path.name}: columns {sorted(columns)} are not trades, book or candles")


def _read_frame(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix in (".feather", ".arrow", ".ipc"):
        return pl.read_ipc(path)
    if suffix == ".csv":
        return pl.read_csv(path, infer_schema_length=10_000)
    raise UnsupportedData(f"{path.name}: unknown file type {suffix!r}")


def _timeframe_from_name(path: Path) -> Timeframe:
    found = _TIMEFRAME_IN_NAME.search(path.name)
    if found is None:
        raise UnsupportedData(f"{path.name}: no timeframe in the name; pass timeframe=")
    tf: Timeframe = found.group(1)  # type: ignore[assignment]
    return tf


def _ms(frame: pl.DataFrame, *names: str) -> list[int]:
    """A time column as epoch milliseconds, whatever its type (datetime, ms, us)."""
    for name in names:
        if name not in frame.columns:
            continue
        column = frame.get_column(name)
        if column.dtype == pl.Datetime or isinstance(column.dtype, pl.Datetime):
            return [int(v) for v in column.dt.epoch("ms").to_list()]
        values = [int(v) for v in column.to_list()]
        # Tardis stamps microseconds: anything past year 2500 in ms is not milliseconds.
        return [v // 1000 if v > 16_725_225_600_000 else v for v in values]
    raise UnsupportedData(f"no time column among {names}")


# -- trades -----------------------------------------------------------------------------


def _tabular_trades(path: Path, frame: pl.DataFrame, symbol: str, exchange: str) -> LoadedData:
    times = _ms(frame, "timestamp", "ts", "time")
    qty_col = next(c for c in ("quantity", "qty", "amount") if c in frame.columns)
    id_col = next((c for c in ("trade_id", "id") if c in frame.columns), None)
    ids = frame.get_column(id_col).to_list() if id_col else list(range(len(frame)))
    sides = _sides(frame)
    trades = [
        _trade(exchange, symbol, int(i), p, q, side=s, ts_ms=t)
        for i, p, q, s, t in zip(
            ids, frame.get_column("price"), frame.get_column(qty_col), sides, times, strict=True
        )
    ]
    return LoadedData("trades", symbol, _in_time_order(trades))


def _sides(frame: pl.DataFrame) -> list[str]:
    if "side" in frame.columns:
        return [str(s).lower() for s in frame.get_column("side").to_list()]
    for name in ("buyer_maker", "is_buyer_maker"):
        if name in frame.columns:
            # The buyer was the maker: the taker sold.
            return ["sell" if str(v).lower() == "true" else "buy" for v in frame.get_column(name)]
    raise UnsupportedData("trades without a side or buyer_maker column")


def _freqtrade_trades(path: Path, symbol: str, exchange: str) -> LoadedData:
    with gzip.open(path) as raw:
        rows = json.load(raw)
    # freqtrade: [timestamp_ms, id, order_type, side, price, amount, cost]
    trades = [
        _trade(exchange, symbol, int(row[1]), row[4], row[5], side=row[3], ts_ms=int(row[0]))
        for row in rows
    ]
    return LoadedData("trades", symbol, _in_time_order(trades))


def _trade(
    exchange: str, symbol: str, trade_id: int, price: Any, qty: Any, *, side: str, ts_ms: int
) -> MarketTrade:
    if side not in ("buy", "sell"):
        raise UnsupportedData(f"trade {trade_id}: side {side!r}")
    return MarketTrade(
        exchange=exchange,
        symbol=symbol,
        trade_id=trade_id,
        price=float(price),
        qty=float(qty),
        side=side,  # type: ignore[arg-type]
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms,
    )


# -- candles ----------------------------------------------------------------------------


def _candles(
    path: Path, frame: pl.DataFrame, symbol: str, exchange: str, tf: Timeframe
) -> LoadedData:
    span = TIMEFRAME_MS[tf]
    opens = _ms(frame, "date", "timestamp", "open_time", "time")
    ohlcv = (frame.get_column(c) for c in ("open", "high", "low", "close", "volume"))
    rows = zip(opens, *ohlcv, strict=True)
    candles = [
        Candle(
            exchange=exchange,
            symbol=symbol,
            timeframe=tf,
            open_ts_ms=t,
            close_ts_ms=t + span - 1,
            open=float(o),
            high=float(h),
            low=float(lo),
            close=float(c),
            volume=float(v),
            quote_volume=0.0,
            trades=0,
            taker_buy_volume=0.0,
            source="exchange",
        )
        for t, o, h, lo, c, v in rows
    ]
    notes = ["candles only: no trades or book, so activity, density and L2 filters get no input"]
    return LoadedData("candles", symbol, _in_time_order(candles), notes)


# -- books ------------------------------------------------------------------------------


def _snapshot(
    exchange: str, symbol: str, seq: int, bids: Iterable[Any], asks: Iterable[Any], *, ts_ms: int
) -> BookSnapshot:
    bid_levels = sorted(((float(p), float(q)) for p, q in bids if float(q) > 0), reverse=True)
    ask_levels = sorted((float(p), float(q)) for p, q in asks if float(q) > 0)
    return BookSnapshot(
        exchange=exchange,
        symbol=symbol,
        sequence=seq,
        depth=max(len(bid_levels), len(ask_levels)),
        bids=bid_levels,
        asks=ask_levels,
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms,
    )


def _tardis_book(path: Path, frame: pl.DataFrame, symbol: str, exchange: str) -> LoadedData:
    depth = sum(1 for c in frame.columns if c.startswith("asks[") and c.endswith("].price"))
    times = _ms(frame, "timestamp")
    books = []
    for index, row in enumerate(frame.iter_rows(named=True)):
        bids = [(row[f"bids[{i}].price"], row[f"bids[{i}].amount"]) for i in range(depth)]
        asks = [(row[f"asks[{i}].price"], row[f"asks[{i}].amount"]) for i in range(depth)]
        books.append(_snapshot(exchange, symbol, index + 1, bids, asks, ts_ms=times[index]))
    return LoadedData("book", symbol, _in_time_order(books))


def _quotes(path: Path, frame: pl.DataFrame, symbol: str, exchange: str) -> LoadedData:
    times = _ms(frame, "timestamp")
    books = [
        _snapshot(
            exchange,
            symbol,
            i + 1,
            [(row["bid"], row["bid_size"])],
            [(row["ask"], row["ask_size"])],
            ts_ms=times[i],
        )
        for i, row in enumerate(frame.iter_rows(named=True))
    ]
    notes = ["best bid/ask only: depth bands and walls beyond the touch are unknown"]
    return LoadedData("book", symbol, _in_time_order(books), notes)


class _Book:
    """A price -> quantity book per side, for replaying diffs into snapshots."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[float, float]] = {"bid": {}, "ask": {}}

    def set(self, side: str, price: float, qty: float) -> None:
        if qty > 0:
            self.sides[side][price] = qty
        else:
            self.sides[side].pop(price, None)

    def snapshot(self, exchange: str, symbol: str, seq: int, ts_ms: int) -> BookSnapshot:
        bids, asks = self.sides["bid"].items(), self.sides["ask"].items()
        return _snapshot(exchange, symbol, seq, bids, asks, ts_ms=ts_ms)


def _binance_depth(path: Path, frame: pl.DataFrame, symbol: str, exchange: str) -> LoadedData:
    """A depth snapshot (`update_type` snap) then diffs, one snapshot event per update id.

    Diffs must continue the snapshot (each update's `pu` is the previous update's last id,
    the first spans the snapshot's id + 1): a book built from diffs alone, or across a hole,
    would be a book that never existed, so it is refused.
    """
    if frame.is_empty() or frame.get_column("update_type")[0] != "snap":
        raise UnsupportedData(f"{path.name}: depth diffs without the snapshot they continue")
    book, books = _Book(), []
    rows = frame.iter_rows(named=True)
    previous: int | None = None
    for update_id, group in _grouped(rows, key="last_update_id"):
        head = group[0]
        continues = previous is None or int(head["pu"]) == previous
        spans = previous is not None and head["first_update_id"] <= previous + 1 <= update_id
        if not (continues or spans):
            raise UnsupportedData(
                f"{path.name}: update {update_id} does not continue {previous}"
                f" (first id {head['first_update_id']}, pu {head['pu']})"
            )
        previous = int(update_id)
        for row in group:
            side = "bid" if row["side"] in ("b", "bid", "buy") else "ask"
            book.set(side, float(row["price"]), float(row["qty"]))
        books.append(book.snapshot(exchange, symbol, int(update_id), int(group[-1]["timestamp"])))
    return LoadedData("book", symbol, _in_time_order(books))


def _bybit_book(path: Path, symbol: str, exchange: str) -> LoadedData:
    """Bybit `orderbook.N` websocket messages: a snapshot, then deltas (quantity 0 removes)."""
    book, books = _Book(), []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            for line in archive.read(member).splitlines():
                if not line.strip():
                    continue
                message = json.loads(line)
                data = message["data"]
                if message["type"] == "snapshot":
                    book = _Book()
                for price, qty in data.get("b", []):
                    book.set("bid", float(price), float(qty))
                for price, qty in data.get("a", []):
                    book.set("ask", float(price), float(qty))
                books.append(book.snapshot(exchange, symbol, int(data["u"]), int(message["ts"])))
    return LoadedData("book", symbol, _in_time_order(books))


def _grouped(
    rows: Iterator[dict[str, Any]], key: str
) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    group: list[dict[str, Any]] = []
    for row in rows:
        if group and row[key] != group[-1][key]:
            yield group[-1][key], group
            group = []
        group.append(row)
    if group:
        yield group[-1][key], group


def _in_time_order(events: list[Any]) -> list[Event]:
    def ts(event: Any) -> int:
        return int(event.close_ts_ms if isinstance(event, Candle) else event.exchange_ts_ms)

    return sorted(events, key=ts)
