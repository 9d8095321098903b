"""Ingest settings: the exchange, the symbol groups, cadences and limits (from the environment)."""

from __future__ import annotations

import os

import msgspec

from breakout.common.events.md import Timeframe
from breakout.common.groups import parse_groups

DEFAULT_TIMEFRAMES: tuple[Timeframe, ...] = ("1m", "5m", "15m", "1h")


class IngestConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What one ingest process does. Keys and secrets are not here: they stay in the env."""

    exchange: str = "binance"
    # Our name for the venue in events and subjects; "binance" for the real one and the sim,
    # which speaks its protocol.
    venue: str = "binance"
    base_url: str | None = None  # exchange_sim's address; None for the real exchange
    groups: dict[str, tuple[str, ...]]
    group: str
    book_depth: int = 20
    book_interval_ms: int = 1000
    # Levels of the REST snapshot a watched book starts from (ccxt.pro's default is 1,000,
    # weight 50 on Binance: 300 symbols would spend 15,000, two and a half minutes of an IP's
    # budget; 100 levels weigh 5 and are far more than the `book_depth` we record).
    book_snapshot_limit: int = 100
    timeframes: tuple[Timeframe, ...] = DEFAULT_TIMEFRAMES
    candle_history_bars: int = 500
    candle_grace_ms: int = 2000
    check_candles: bool = True
    tickers: str = "own"  # "own": this group's symbols; "all": every market (one group only)
    ticker_interval_s: float = 10.0
    stale_after_s: float = 30.0
    max_backfill_trades: int = 100_000
    rest_weight_per_min: float = 5000.0
    # Symbols whose candle history is fetched at once: at start every feed wants its history,
    # and hundreds of simultaneous klines calls only time out against a busy exchange.
    history_concurrency: int = 8
    # Trades ccxt.pro keeps per symbol between two `watch_trades` calls (its `tradesLimit`,
    # 1,000 by default). We take every batch as it comes, so the cache only has to bridge a
    # stall; at ~2 KB a parsed trade, 1,000 a symbol grew each 100-symbol ingest by ~60 MB in
    # its first ten minutes. A stall longer than the cache loses nothing: the trade ids skip,
    # and the hole is backfilled from REST like any other.
    trades_cache: int = 200
    flush_interval_s: float = 0.05

    def __post_init__(self) -> None:
        if self.trades_cache < 1:
            raise ValueError(f"trades_cache must be at least 1, not {self.trades_cache}")
        if self.history_concurrency < 1:
            raise ValueError(
                f"history_concurrency must be at least 1, not {self.history_concurrency}"
            )
        if self.book_snapshot_limit not in {5, 10, 20, 50, 100, 500, 1000, 5000}:
            raise ValueError(
                f"book_snapshot_limit must be one Binance serves, not {self.book_snapshot_limit}"
            )
        if self.book_snapshot_limit < self.book_depth:
            raise ValueError("book_snapshot_limit must cover book_depth")
        if self.rest_weight_per_min <= 0:
            raise ValueError(
                f"rest_weight_per_min must be positive, not {self.rest_weight_per_min}"
            )

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols this process's group lists (run-time subscriptions come on top)."""
        return self.groups[self.group]


def config_from_env(group: str | None = None) -> IngestConfig:
    """Read `INGEST_GROUPS` (`a=BTCUSDT,ETHUSDT;b=SOLUSDT`), `SYMBOL_GROUP`, and the rest."""
    groups = parse_groups(os.environ.get("INGEST_GROUPS", "default=BTCUSDT,ETHUSDT"))
    chosen = group or os.environ.get("SYMBOL_GROUP") or next(iter(groups))
    if chosen not in groups:
        raise ValueError(f"symbol group {chosen!r} is not in INGEST_GROUPS ({', '.join(groups)})")
    env = os.environ.get
    return IngestConfig(
        exchange=env("INGEST_EXCHANGE", "binance"),
        venue=env("INGEST_VENUE", "binance"),
        base_url=env("EXCHANGE_BASE_URL") or None,
        groups=groups,
        group=chosen,
        book_depth=int(env("INGEST_BOOK_DEPTH", "20")),
        book_interval_ms=int(env("INGEST_BOOK_INTERVAL_MS", "1000")),
        tickers=env("INGEST_TICKERS", "own"),
        ticker_interval_s=float(env("INGEST_TICKER_INTERVAL_S", "10")),
        stale_after_s=float(env("INGEST_STALE_AFTER_S", "30")),
        rest_weight_per_min=float(env("INGEST_REST_WEIGHT_PER_MIN", "5000")),
        history_concurrency=int(env("INGEST_HISTORY_CONCURRENCY", "8")),
        trades_cache=int(env("INGEST_TRADES_CACHE", "200")),
    )
