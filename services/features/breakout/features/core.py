"""The features service core: market data in, `feat.*` events out, one symbol group per instance.

Pure and deterministic (a `SnapshottingCore` for the runtime): trades, book snapshots and
closed candles are routed to the symbol's features (`symbol.py`); what they decide is emitted
to `feat.<kind>-<exchange>.<SYMBOL>` streams, whose only writer is the instance that owns the
symbol. The runtime derives each output's id from (consumer, input event id, index), so a
replay of the same inputs yields the same events with the same ids.

With `symbols` configured the instance subscribes to those symbols only (plus the candles of
the correlation reference, BTC, which it reads but records nothing for unless it owns it).
With `exclude` it subscribes to every symbol and ignores the excluded ones, which other
instances own (the `unlisted` group: symbols asked for at run time that no group lists).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec

from breakout.common.events import (
    BookSnapshot,
    Candle,
    Event,
    MarketDataGap,
    MarketDataResynced,
    MarketTrade,
    RecordedEvent,
    feat_stream,
)
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter
from breakout.features.config import FeaturesConfig
from breakout.features.symbol import Output, SymbolFeatures, SymbolState

_SNAPSHOT_VERSION = 1


class FeaturesSnapshot(msgspec.Struct, kw_only=True):
    """The whole core's state, tied to the configuration that built it."""

    version: int
    config_digest: str
    symbols: dict[str, SymbolState]


def config_digest(config: FeaturesConfig) -> str:
    """A fingerprint of a configuration (a snapshot from another configuration is not used)."""
    return hashlib.sha256(msgspec.json.encode(config)).hexdigest()[:16]


class FeaturesCore:
    """Routes market data to per-symbol features and emits what they decide."""

    # By type, not by stream category: candles live in one category per timeframe
    # (`md.candle.15m-binance.BTCUSDT`), so a category filter of "md.candle" read none of them
    # on catch-up, and a features process started after ingest's backfill had no history.
    store_filter: EventFilter | None = EventFilter(
        types=tuple(
            cls.type_tag()
            for cls in (MarketTrade, BookSnapshot, Candle, MarketDataGap, MarketDataResynced)
        )
    )

    def __init__(self, config: FeaturesConfig | None = None) -> None:
        self.config = config or FeaturesConfig()
        self.symbols: dict[str, SymbolFeatures] = {}
        self.reference_symbol = self.config.indicators.correlation_symbol
        self._owned = frozenset(self.config.symbols)
        self._excluded = frozenset(self.config.exclude)
        self.subjects = self._subjects()

    def _subjects(self) -> tuple[str, ...]:
        if not self.config.symbols:
            return (
                "md.trade.*.*",
                "md.book.*.*",
                "md.candle.*.*.*",
                "md.gap.*.*",
                "md.resynced.*.*",
            )
        subjects = []
        for symbol in self.config.symbols:
            subjects += [f"md.trade.*.{symbol}", f"md.book.*.{symbol}", f"md.candle.*.*.{symbol}"]
            subjects += [f"md.gap.*.{symbol}", f"md.resynced.*.{symbol}"]
        if self.reference_symbol not in self.config.symbols:
            subjects.append(f"md.candle.*.*.{self.reference_symbol}")
        return tuple(subjects)

    def owns(self, symbol: str) -> bool:
        """Whether this instance records features for `symbol`."""
        return symbol in self._owned if self._owned else symbol not in self._excluded

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Fold one market-data event in; return the feature events it completes."""
        data = event.data
        match data:
            case MarketTrade() | BookSnapshot() if not self.owns(data.symbol):
                outputs = []  # another instance's symbol (a filter wider than the group)
            case MarketTrade():
                outputs = self._features(data.exchange, data.symbol).on_trade(data)
            case BookSnapshot():
                outputs = self._features(data.exchange, data.symbol).on_book(data)
            case Candle():
                outputs = self._on_candle(data)
            case MarketDataGap() if self.owns(data.symbol):
                outputs = self._features(data.exchange, data.symbol).on_gap(data)
            case MarketDataResynced() if self.owns(data.symbol):
                outputs = self._features(data.exchange, data.symbol).on_resynced(data)
            case MarketDataGap() | MarketDataResynced():
                outputs = []
            case _:
                raise TypeError(f"features core cannot handle {event.type}")
        return [self._emit(kind, e, data.exchange, data.symbol) for kind, e in outputs]

    def _on_candle(self, candle: Candle) -> list[Output]:
        owned = self.owns(candle.symbol)
        if not owned and candle.symbol != self.reference_symbol:
            return []
        reference = self.symbols.get(f"{candle.exchange}:{self.reference_symbol}")
        series = reference.series.get(candle.timeframe) if reference is not None else None
        features = self._features(candle.exchange, candle.symbol)
        return features.on_candle(candle, series, record=owned)

    def _features(self, exchange: str, symbol: str) -> SymbolFeatures:
        key = f"{exchange}:{symbol}"
        features = self.symbols.get(key)
        if features is None:
            if not self.owns(symbol) and symbol != self.reference_symbol:
                raise ValueError(f"{symbol} is not in this instance's group {self.config.symbols}")
            features = self.symbols[key] = SymbolFeatures(self.config, exchange, symbol)
        return features

    @staticmethod
    def _emit(kind: str, event: Event, exchange: str, symbol: str) -> Emit:
        return Emit(stream=feat_stream(kind, exchange, symbol), event=event)

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state (msgpack)."""
        state = FeaturesSnapshot(
            version=_SNAPSHOT_VERSION,
            config_digest=config_digest(self.config),
            symbols={key: features.save() for key, features in self.symbols.items()},
        )
        return msgspec.msgpack.encode(state)

    def restore(self, state: bytes) -> None:
        """Replace the state with a snapshot's; one taken under another configuration (or
        format) is not used: the features warm up again from the events that follow, as the
        windows they hold are minutes long (nothing recorded is lost, only recomputed)."""
        self.symbols = {}
        try:
            snapshot = msgspec.msgpack.decode(state, type=FeaturesSnapshot)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # a snapshot of an older state format
        if snapshot.version != _SNAPSHOT_VERSION:
            return
        if snapshot.config_digest != config_digest(self.config):
            return
        for key, symbol_state in snapshot.symbols.items():
            exchange, symbol = key.split(":", 1)
            self.symbols[key] = SymbolFeatures.load(self.config, exchange, symbol, symbol_state)
