"""The ingest client's trade cache is bounded by `trades_cache`, through ccxt.pro's own handler."""

from __future__ import annotations

import asyncio

from breakout.ingest.app import exchange_client
from breakout.ingest.config import IngestConfig


class _SpotConnection:
    """Just what ccxt.pro's binance handler reads from the websocket connection it came on."""

    url = "ws://127.0.0.1:1/stream/ws"

    def resolve(self, *_: object) -> None:
        """ccxt hands the parsed trades to waiting `watch_trades` calls here; none wait."""


def _agg_trade(trade_id: int) -> dict[str, object]:
    ts = 1_700_000_000_000 + trade_id
    return {
        "e": "aggTrade",
        "E": ts,
        "s": "BTCUSDT",
        "a": trade_id,
        "p": "100.0",
        "q": "1.0",
        "f": trade_id,
        "l": trade_id,
        "T": ts,
        "m": False,
        "M": True,
    }


def test_ccxt_keeps_at_most_trades_cache_trades_per_symbol() -> None:
    config = IngestConfig(groups={"g": ("BTCUSDT",)}, group="g", trades_cache=50)
    client = exchange_client(config)
    try:
        for trade_id in range(120):
            client.handle_trade(_SpotConnection(), _agg_trade(trade_id))
        kept = client.trades["BTCUSDT"]
        assert len(kept) == 50
        assert [t["id"] for t in kept] == [str(i) for i in range(70, 120)]  # the newest
    finally:
        asyncio.run(client.close())


def test_the_trade_cache_keeps_the_loopback_options() -> None:
    # Against exchange_sim ccxt must load spot markets only: margin and currency endpoints live
    # on hosts the simulator is not (a lost option sent every load_markets to api.binance.com).
    config = IngestConfig(
        groups={"g": ("BTCUSDT",)}, group="g", base_url="http://127.0.0.1:1", trades_cache=50
    )
    client = exchange_client(config)
    try:
        assert client.options["tradesLimit"] == 50
        assert client.options["fetchMargins"] is False
        assert client.options["fetchCurrencies"] is False
        assert client.options["fetchMarkets"]["types"] == ["spot"]
    finally:
        asyncio.run(client.close())
