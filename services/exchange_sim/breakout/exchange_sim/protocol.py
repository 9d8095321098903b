"""Binance spot wire shapes (REST bodies and websocket payloads) built from simulator state.

Every price and quantity is a string with eight decimals, made from integer ticks and lots, so
the text is exact. Field names and orders follow Binance's documentation.
"""

from __future__ import annotations

from typing import Any

import msgspec

from breakout.exchange_sim.book import DepthDiff, OrderBook
from breakout.exchange_sim.klines import Bar, bucket_close
from breakout.exchange_sim.specs import SymbolSpec, fixed_text
from breakout.exchange_sim.tape import AggTrade, Print
from breakout.exchange_sim.ticker import TickerStats

JsonDict = dict[str, Any]


def quote_text(spec: SymbolSpec, units: int) -> str:
    """Wire text of a quote amount counted in tick*lot units."""
    decimals = spec.price_decimals + spec.qty_decimals
    if decimals <= 8:
        return fixed_text(units, decimals)
    # More decimals than the wire has: round half-up to eight.
    scale = 10 ** (decimals - 8)
    return fixed_text((units + scale // 2) // scale, 8)


def symbol_info(spec: SymbolSpec) -> JsonDict:
    """One entry of `exchangeInfo.symbols`."""
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": spec.price_text(1),
                "maxPrice": "1000000.00000000",
                "tickSize": spec.price_text(1),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": spec.qty_text(spec.min_qty_lots),
                "maxQty": spec.qty_text(spec.max_qty_lots),
                "stepSize": spec.qty_text(1),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": spec.qty_text(spec.max_qty_lots),
                "stepSize": "0.00000000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": f"{spec.min_notional:.8f}",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(specs: list[SymbolSpec], server_ms: int) -> JsonDict:
    """`GET /api/v3/exchangeInfo`."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(spec) for spec in specs],
    }


class ExchangeInfoCache:
    """`exchangeInfo` of a fixed listing, built once: only `serverTime` changes per request.

    With hundreds of symbols the full answer is a few hundred KB; building it per request
    (every ingest process loads the markets, and again after each restart) held the event loop
    long enough to starve the other requests. The listed symbols' part is encoded once and the
    answer is spliced around it.
    """

    def __init__(self, specs: list[SymbolSpec]) -> None:
        self._by_symbol = {spec.symbol: msgspec.json.encode(symbol_info(spec)) for spec in specs}
        self._all = b"[" + b",".join(self._by_symbol.values()) + b"]"

    def encode(self, symbols: list[str] | None, server_ms: int) -> bytes:
        """The encoded answer for these symbols (None: every listed one) at `server_ms`."""
        listed = (
            self._all
            if symbols is None
            else b"[" + b",".join(self._by_symbol[s] for s in symbols) + b"]"
        )
        head = exchange_info([], server_ms)
        del head["symbols"]
        return msgspec.json.encode(head)[:-1] + b',"symbols":' + listed + b"}"


def levels_text(spec: SymbolSpec, levels: list[tuple[int, int]]) -> list[list[str]]:
    """Book levels as `[["price", "qty"], ...]`."""
    return [[spec.price_text(price), spec.qty_text(lots)] for price, lots in levels]


def depth_snapshot(spec: SymbolSpec, book: OrderBook, limit: int) -> JsonDict:
    """`GET /api/v3/depth`: the book and the update id it stands at."""
    return {
        "lastUpdateId": book.update_id,
        "bids": levels_text(spec, book.levels(True, limit)),
        "asks": levels_text(spec, book.levels(False, limit)),
    }


def kline_row(spec: SymbolSpec, interval: str, bar: Bar) -> list[Any]:
    """One row of `GET /api/v3/klines`."""
    return [
        bar.open_ms,
        spec.price_text(bar.open),
        spec.price_text(bar.high),
        spec.price_text(bar.low),
        spec.price_text(bar.close),
        spec.qty_text(bar.volume_lots),
        bucket_close(interval, bar.open_ms),
        quote_text(spec, bar.quote_units),
        bar.trades,
        spec.qty_text(bar.taker_buy_lots),
        quote_text(spec, bar.taker_buy_quote_units),
        "0",
    ]


def agg_trade_rest(spec: SymbolSpec, agg: AggTrade) -> JsonDict:
    """One entry of `GET /api/v3/aggTrades`."""
    return {
        "a": agg.agg_id,
        "p": spec.price_text(agg.price),
        "q": spec.qty_text(agg.lots),
        "f": agg.first_trade_id,
        "l": agg.last_trade_id,
        "T": agg.ts_ms,
        "m": agg.buyer_maker,
        "M": True,
    }


def trade_rest(spec: SymbolSpec, printed: Print) -> JsonDict:
    """One entry of `GET /api/v3/trades` and `historicalTrades`."""
    return {
        "id": printed.trade_id,
        "price": spec.price_text(printed.price),
        "qty": spec.qty_text(printed.lots),
        "quoteQty": quote_text(spec, printed.price * printed.lots),
        "time": printed.ts_ms,
        "isBuyerMaker": printed.buyer_maker,
        "isBestMatch": True,
    }


def trade_ws(spec: SymbolSpec, printed: Print, event_ms: int) -> JsonDict:
    """`<symbol>@trade` payload."""
    return {
        "e": "trade",
        "E": event_ms,
        "s": spec.symbol,
        "t": printed.trade_id,
        "p": spec.price_text(printed.price),
        "q": spec.qty_text(printed.lots),
        "T": printed.ts_ms,
        "m": printed.buyer_maker,
        "M": True,
    }


def agg_trade_ws(spec: SymbolSpec, agg: AggTrade, event_ms: int) -> JsonDict:
    """`<symbol>@aggTrade` payload."""
    return {"e": "aggTrade", "E": event_ms, "s": spec.symbol, **agg_trade_rest(spec, agg)}


def depth_ws(spec: SymbolSpec, diff: DepthDiff, event_ms: int) -> JsonDict:
    """`<symbol>@depth[@100ms]` payload: changed levels with the update-id range."""
    return {
        "e": "depthUpdate",
        "E": event_ms,
        "s": spec.symbol,
        "U": diff.first_id,
        "u": diff.last_id,
        "b": levels_text(spec, sorted(diff.bids, reverse=True)),
        "a": levels_text(spec, sorted(diff.asks)),
    }


def book_ticker(spec: SymbolSpec, book: OrderBook) -> JsonDict:
    """`GET /api/v3/ticker/bookTicker` entry and `<symbol>@bookTicker` payload."""
    bid, ask = book.best_bid(), book.best_ask()
    return {
        "u": book.update_id,
        "s": spec.symbol,
        "b": spec.price_text(bid) if bid is not None else "0.00000000",
        "B": spec.qty_text(book.total(True, bid)) if bid is not None else "0.00000000",
        "a": spec.price_text(ask) if ask is not None else "0.00000000",
        "A": spec.qty_text(book.total(False, ask)) if ask is not None else "0.00000000",
    }


def book_ticker_rest(spec: SymbolSpec, book: OrderBook) -> JsonDict:
    """`GET /api/v3/ticker/bookTicker` entry."""
    top = book_ticker(spec, book)
    return {
        "symbol": spec.symbol,
        "bidPrice": top["b"],
        "bidQty": top["B"],
        "askPrice": top["a"],
        "askQty": top["A"],
    }


def _percent_text(change: int, base: int) -> str:
    return f"{(change / base * 100) if base else 0.0:.3f}"


def ticker_24h(spec: SymbolSpec, stats: TickerStats) -> JsonDict:
    """`GET /api/v3/ticker/24hr` entry."""
    change = stats.last - stats.open
    weighted = (stats.quote_units / stats.volume_lots) if stats.volume_lots else float(stats.last)
    return {
        "symbol": spec.symbol,
        "priceChange": spec.price_text(change),
        "priceChangePercent": _percent_text(change, stats.open),
        "weightedAvgPrice": f"{spec.price_float(round(weighted)):.8f}",
        "prevClosePrice": spec.price_text(stats.prev_close),
        "lastPrice": spec.price_text(stats.last),
        "lastQty": spec.qty_text(stats.last_lots),
        "bidPrice": spec.price_text(stats.bid) if stats.bid is not None else "0.00000000",
        "bidQty": spec.qty_text(stats.bid_lots),
        "askPrice": spec.price_text(stats.ask) if stats.ask is not None else "0.00000000",
        "askQty": spec.qty_text(stats.ask_lots),
        "openPrice": spec.price_text(stats.open),
        "highPrice": spec.price_text(stats.high),
        "lowPrice": spec.price_text(stats.low),
        "volume": spec.qty_text(stats.volume_lots),
        "quoteVolume": quote_text(spec, stats.quote_units),
        "openTime": stats.open_ms,
        "closeTime": stats.close_ms,
        "firstId": stats.first_trade_id,
        "lastId": stats.last_trade_id,
        "count": stats.trades,
    }


def ticker_ws(spec: SymbolSpec, stats: TickerStats, event_ms: int) -> JsonDict:
    """`<symbol>@ticker` payload."""
    rest = ticker_24h(spec, stats)
    return {
        "e": "24hrTicker",
        "E": event_ms,
        "s": spec.symbol,
        "p": rest["priceChange"],
        "P": rest["priceChangePercent"],
        "w": rest["weightedAvgPrice"],
        "x": rest["prevClosePrice"],
        "c": rest["lastPrice"],
        "Q": rest["lastQty"],
        "b": rest["bidPrice"],
        "B": rest["bidQty"],
        "a": rest["askPrice"],
        "A": rest["askQty"],
        "o": rest["openPrice"],
        "h": rest["highPrice"],
        "l": rest["lowPrice"],
        "v": rest["volume"],
        "q": rest["quoteVolume"],
        "O": rest["openTime"],
        "C": rest["closeTime"],
        "F": rest["firstId"],
        "L": rest["lastId"],
        "n": rest["count"],
    }


def mini_ticker_ws(spec: SymbolSpec, stats: TickerStats, event_ms: int) -> JsonDict:
    """`<symbol>@miniTicker` payload."""
    return {
        "e": "24hrMiniTicker",
        "E": event_ms,
        "s": spec.symbol,
        "c": spec.price_text(stats.last),
        "o": spec.price_text(stats.open),
        "h": spec.price_text(stats.high),
        "l": spec.price_text(stats.low),
        "v": spec.qty_text(stats.volume_lots),
        "q": quote_text(spec, stats.quote_units),
    }


def kline_ws(spec: SymbolSpec, interval: str, bar: Bar, event_ms: int, closed: bool) -> JsonDict:
    """`<symbol>@kline_<interval>` payload."""
    return {
        "e": "kline",
        "E": event_ms,
        "s": spec.symbol,
        "k": {
            "t": bar.open_ms,
            "T": bucket_close(interval, bar.open_ms),
            "s": spec.symbol,
            "i": interval,
            "f": -1,
            "L": -1,
            "o": spec.price_text(bar.open),
            "c": spec.price_text(bar.close),
            "h": spec.price_text(bar.high),
            "l": spec.price_text(bar.low),
            "v": spec.qty_text(bar.volume_lots),
            "n": bar.trades,
            "x": closed,
            "q": quote_text(spec, bar.quote_units),
            "V": spec.qty_text(bar.taker_buy_lots),
            "Q": quote_text(spec, bar.taker_buy_quote_units),
            "B": "0",
        },
    }
