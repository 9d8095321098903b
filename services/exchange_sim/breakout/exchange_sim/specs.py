"""Symbols the simulated exchange lists: precisions, filters and market character.

Prices are counted in integer ticks and quantities in integer lots (a tick is 10^-price_decimals,
a lot 10^-qty_decimals): the book and the matching engine never round a float. Text for the wire
is made from those integers, with Binance's eight decimals.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal

# Longest first so that "FDUSD" wins over "USD"-like suffixes.
QUOTE_ASSETS = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
WIRE_DECIMALS = 8


@dataclass(frozen=True, kw_only=True)
class SymbolSpec:
    """One listed spot market and the character of its simulated trading."""

    symbol: str
    base: str
    quote: str
    price_decimals: int
    qty_decimals: int
    min_qty_lots: int
    max_qty_lots: int
    min_notional: Decimal
    start_price: float
    trades_per_s: float
    median_trade_notional: float
    spread_bps: float

    @property
    def tick_size(self) -> Decimal:
        """Smallest price increment."""
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def step_size(self) -> Decimal:
        """Smallest quantity increment."""
        return Decimal(1).scaleb(-self.qty_decimals)

    def price(self, ticks: int) -> Decimal:
        """Exact price of a tick count."""
        return Decimal(ticks).scaleb(-self.price_decimals)

    def qty(self, lots: int) -> Decimal:
        """Exact quantity of a lot count."""
        return Decimal(lots).scaleb(-self.qty_decimals)

    def price_float(self, ticks: int) -> float:
        """Price of a tick count as a float (for the market model)."""
        return ticks / 10.0**self.price_decimals

    def qty_float(self, lots: int) -> float:
        """Quantity of a lot count as a float (for the market model)."""
        return lots / 10.0**self.qty_decimals

    def price_text(self, ticks: int) -> str:
        """Wire text of a price, e.g. "39432.48000000"."""
        return fixed_text(ticks, self.price_decimals)

    def qty_text(self, lots: int) -> str:
        """Wire text of a quantity."""
        return fixed_text(lots, self.qty_decimals)

    def to_ticks(self, price: float) -> int:
        """Nearest tick count of a float price (never below one tick)."""
        return max(1, round(price * 10.0**self.price_decimals))

    def to_lots(self, qty: float) -> int:
        """Nearest lot count of a float quantity (at least one lot)."""
        return max(1, round(qty * 10.0**self.qty_decimals))


def fixed_text(units: int, decimals: int) -> str:
    """`units * 10^-decimals` written with WIRE_DECIMALS decimals, exactly."""
    pad = WIRE_DECIMALS - decimals
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units) * 10**pad, 10**WIRE_DECIMALS)
    return f"{sign}{whole}.{frac:0{WIRE_DECIMALS}d}"


def split_symbol(symbol: str) -> tuple[str, str]:
    """Base and quote asset of an exchange symbol such as BTCUSDT."""
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"cannot tell the quote asset of symbol {symbol!r}")


# Known markets: start price, trades per second, price decimals, quantity decimals (Binance's).
_KNOWN: dict[str, tuple[float, float, int, int]] = {
    "BTCUSDT": (60_000.0, 55.0, 2, 5),
    "ETHUSDT": (3_000.0, 20.0, 2, 4),
    "BNBUSDT": (550.0, 6.0, 2, 3),
    "SOLUSDT": (150.0, 12.0, 2, 3),
    "XRPUSDT": (0.55, 8.0, 4, 0),
    "DOGEUSDT": (0.12, 6.0, 5, 0),
    "ADAUSDT": (0.45, 4.0, 4, 1),
    "AVAXUSDT": (30.0, 3.0, 2, 2),
    "LINKUSDT": (14.0, 3.0, 2, 2),
    "LTCUSDT": (80.0, 2.0, 2, 3),
}


def default_symbols(count: int) -> list[str]:
    """`count` symbols: the well-known markets first, then made-up ones (`SIM001USDT`, ...)."""
    if count < 1:
        raise ValueError("need at least one symbol")
    known = list(_KNOWN)[:count]
    return known + [f"SIM{i:03d}USDT" for i in range(1, count - len(known) + 1)]


# The long tail: markets past the known ten trade at a rate that falls as a power of their rank
# in activity (`TAIL_RATE_AT_RANK_10 * (rank / 10) ** -TAIL_EXPONENT`), jittered by name:
# rank 11 about 2.8 trades/s, rank 100 about 0.5, rank 300 about 0.2 (Binance's spot USDT
# markets by 24 h trade count fall about so; the known ten end at 2-3 trades/s).
TAIL_RATE_AT_RANK_10 = 3.0
TAIL_EXPONENT = 0.75
TAIL_JITTER = 0.4  # a tail market's rate is its rank's times 1 +- this (drawn from its name)
TAIL_RANKS = 300  # the rank an unknown non-SIM name is drawn below


def tail_rank(symbol: str) -> int:
    """Activity rank of a market not in `_KNOWN`: SIMnnn counts on from the known ones; any
    other name gets a rank drawn from it within the first TAIL_RANKS."""
    base, _ = split_symbol(symbol)
    if base.startswith("SIM") and base[3:].isdigit():
        return len(_KNOWN) + int(base[3:])
    return len(_KNOWN) + 1 + int(_name_fraction(symbol, "rank") * (TAIL_RANKS - len(_KNOWN)))


def tail_trades_per_s(symbol: str) -> float:
    """Base trade rate of a long-tail market (see TAIL_EXPONENT)."""
    rate: float = TAIL_RATE_AT_RANK_10 * (tail_rank(symbol) / 10) ** -TAIL_EXPONENT
    return rate * (1 + TAIL_JITTER * (2 * _name_fraction(symbol, "rate") - 1))


def _name_fraction(symbol: str, salt: str) -> float:
    """A stable number in [0, 1) drawn from a symbol's name (no process-random hashing)."""
    digest = hashlib.sha256(f"{salt}:{symbol}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def make_spec(symbol: str) -> SymbolSpec:
    """The listing of `symbol`: known markets keep their usual price, others get one by name."""
    symbol = symbol.upper()
    base, quote = split_symbol(symbol)
    if symbol in _KNOWN:
        price, rate, price_decimals, qty_decimals = _KNOWN[symbol]
    else:
        price = 10 ** (-2 + 5 * _name_fraction(symbol, "price"))  # 0.01 .. 1000
        rate = tail_trades_per_s(symbol)
        magnitude = math.floor(math.log10(price))
        # About six significant digits of price, as Binance lists most pairs.
        price_decimals = min(WIRE_DECIMALS, max(0, 5 - magnitude))
        # A lot worth about 0.1 .. 1 cent of quote at the start price.
        qty_decimals = min(WIRE_DECIMALS, max(0, magnitude + 2))
    min_notional = Decimal(5) if quote in {"USDT", "USDC", "FDUSD", "TUSD", "BUSD"} else Decimal(0)
    return SymbolSpec(
        symbol=symbol,
        base=base,
        quote=quote,
        price_decimals=price_decimals,
        qty_decimals=qty_decimals,
        min_qty_lots=1,
        max_qty_lots=9_000_000 * 10**qty_decimals,
        min_notional=min_notional,
        start_price=price,
        trades_per_s=rate,
        median_trade_notional=210.0,
        # BTCUSDT trades at a one-tick spread; thinner books quote about a basis point wide.
        spread_bps=0.0 if symbol == "BTCUSDT" else 1.0,
    )
