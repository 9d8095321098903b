"""Recorded market data to replay: the real samples, or md.trade / md.book events exported as
JSON lines (one `{"type": "md.trade.v1", ...}` per line, as breakout.common.events encodes them).

The BTCUSDT samples come from different days and venues (spot trades and quotes of 2021-01-08,
a futures depth snapshot of 2022-11-01 and a diff ten minutes and 20 million update ids after
it), so they cannot be replayed as one book. The replay keeps what each does best: trades and
quotes are replayed as they happened, and the depth behind the quotes takes the *shape* of the
recorded book (level offsets from the touch in basis points and their sizes; bids from the
snapshot, asks from the diff's levels), laid behind the recorded quotes.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from breakout.common.events.base import decode_event
from breakout.common.events.md import BookSnapshot, Level, MarketTrade


@dataclass(frozen=True, slots=True)
class RecordedTrade:
    """A trade as it was printed; `taker_buys` is the aggressor's side."""

    ts_ms: int
    price: float
    qty: float
    taker_buys: bool


@dataclass(frozen=True, slots=True)
class RecordedQuote:
    """Best bid and ask with their sizes."""

    ts_ms: int
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float


@dataclass(frozen=True, slots=True)
class RecordedBook:
    """A book snapshot (top levels, best first on each side) that replaces the book."""

    ts_ms: int
    bids: list[Level]
    asks: list[Level]


RecordedEvent = RecordedTrade | RecordedQuote | RecordedBook


@dataclass(frozen=True, slots=True)
class BookShape:
    """Depth behind the touch: (offset from the touch in bps, size) per level, touch excluded."""

    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    ref_price: float  # the price the sizes were recorded at (they scale by notional elsewhere)


@dataclass(slots=True)
class SymbolRecording:
    """Everything recorded for one symbol, in time order."""

    symbol: str
    events: list[RecordedEvent] = field(default_factory=list)
    shape: BookShape | None = None

    def sort(self) -> None:
        """Order events by time (stable: recorded order within a millisecond is kept)."""
        self.events.sort(key=lambda e: e.ts_ms)


def shape_from_levels(levels: list[Level], *, is_bid: bool) -> list[tuple[float, float]]:
    """Offsets (bps from the best level) and sizes of the levels behind the best one."""
    ordered = sorted((lv for lv in levels if lv[1] > 0), key=lambda lv: -lv[0] if is_bid else lv[0])
    if not ordered:
        return []
    best = ordered[0][0]
    return [(abs(price - best) / best * 1e4, qty) for price, qty in ordered[1:]]


def _btcusdt_samples(folder: Path) -> SymbolRecording | None:
    trades_path, quotes_path = folder / "btcusdt-trades.parquet", folder / "btcusdt-quotes.parquet"
    if not trades_path.exists():
        return None
    recording = SymbolRecording("BTCUSDT")
    trades = pl.read_parquet(trades_path).sort("timestamp")
    for ts, price, qty, buyer_maker in trades.select(
        pl.col("timestamp").cast(pl.Int64), "price", "quantity", "buyer_maker"
    ).iter_rows():
        recording.events.append(RecordedTrade(ts, price, qty, str(buyer_maker) != "True"))
    if quotes_path.exists():
        quotes = pl.read_parquet(quotes_path).sort("timestamp")
        for ts, bid, bid_qty, ask, ask_qty in quotes.select(
            pl.col("timestamp").cast(pl.Int64), "bid", "bid_size", "ask", "ask_size"
        ).iter_rows():
            recording.events.append(RecordedQuote(ts, bid, bid_qty, ask, ask_qty))
    snap, diff = folder / "btcusdt-depth-snap.csv", folder / "btcusdt-depth-update.csv"
    if snap.exists() and diff.exists():
        bids = pl.read_csv(snap).filter(pl.col("side") == "b").select("price", "qty").rows()
        asks = (
            pl.read_csv(diff).filter(pl.col("side") == "a").select("price", "qty").unique().rows()
        )
        recording.shape = BookShape(
            bids=shape_from_levels(bids, is_bid=True),
            asks=shape_from_levels(asks, is_bid=False),
            ref_price=max(price for price, _ in bids),
        )
    recording.sort()
    return recording


def _ethusdt_samples(folder: Path) -> SymbolRecording | None:
    path = folder / "public_trades_list.csv"
    if not path.exists():
        return None
    recording = SymbolRecording("ETHUSDT")
    rows = pl.read_csv(path).select("timestamp", "price", "amount", "side").iter_rows()
    recording.events = [
        RecordedTrade(ts, price, qty, side == "buy") for ts, price, qty, side in rows
    ]
    recording.sort()
    return recording


def _xrpeth_samples(folder: Path) -> SymbolRecording | None:
    path = folder / "XRP_ETH-trades.json.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt") as handle:
        rows = json.load(handle)
    recording = SymbolRecording("XRPETH")
    recording.events = [
        RecordedTrade(int(r[0]), float(r[4]), float(r[5]), r[3] == "buy") for r in rows
    ]
    recording.sort()
    return recording


def load_samples(folder: Path) -> list[SymbolRecording]:
    """The real samples of `../shared/data`: BTCUSDT, ETHUSDT and XRPETH where present."""
    found = [loader(folder) for loader in (_btcusdt_samples, _ethusdt_samples, _xrpeth_samples)]
    recordings = [r for r in found if r is not None and r.events]
    if not recordings:
        raise FileNotFoundError(f"no replayable samples in {folder}")
    return recordings


def load_jsonl(path: Path) -> list[SymbolRecording]:
    """md.trade / md.book events, one JSON object per line (other event types are skipped)."""
    recordings: dict[str, SymbolRecording] = {}
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                tag = json.loads(line)["type"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not an event object") from exc
            if tag not in ("md.trade.v1", "md.book.v1"):
                continue
            event = decode_event(tag, line)
            assert isinstance(event, MarketTrade | BookSnapshot)
            recording = recordings.setdefault(event.symbol, SymbolRecording(event.symbol))
            if isinstance(event, MarketTrade):
                recording.events.append(
                    RecordedTrade(event.exchange_ts_ms, event.price, event.qty, event.side == "buy")
                )
            else:
                recording.events.append(RecordedBook(event.exchange_ts_ms, event.bids, event.asks))
    for recording in recordings.values():
        recording.sort()
    if not recordings:
        raise ValueError(f"{path}: no md.trade.v1 or md.book.v1 events")
    return list(recordings.values())


def load_recordings(path: Path) -> list[SymbolRecording]:
    """A folder of samples or a .jsonl export."""
    return load_samples(path) if path.is_dir() else load_jsonl(path)
