"""Paper matching (pure): what an order would get from a book, walking its depth.

A taker walks the opposite side level by level up to its limit, taking what earlier paper
orders have not already taken from the same snapshot (`consumed`), so two orders never fill
against the same liquidity. Fees follow Binance spot: a buyer pays in base, a seller in quote.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from breakout.common.events import BookSnapshot

ZERO = Decimal(0)


class PaperFill(msgspec.Struct, frozen=True, kw_only=True):
    """One level taken."""

    price: Decimal
    qty: Decimal


def walk(
    book: BookSnapshot,
    side: str,
    qty: Decimal,
    limit: Decimal | None,
    consumed: dict[Decimal, Decimal],
) -> list[PaperFill]:
    """The fills of a `side` taker of `qty` up to `limit` (None: market), updating `consumed`."""
    levels = book.asks if side == "buy" else book.bids
    remaining = qty
    fills: list[PaperFill] = []
    for raw_price, raw_qty in levels:
        if remaining <= 0:
            break
        price = Decimal(repr(raw_price))
        if limit is not None and (price > limit if side == "buy" else price < limit):
            break
        available = Decimal(repr(raw_qty)) - consumed.get(price, ZERO)
        if available <= 0:
            continue
        take = min(available, remaining)
        consumed[price] = consumed.get(price, ZERO) + take
        remaining -= take
        fills.append(PaperFill(price=price, qty=take))
    return fills


def crosses(book: BookSnapshot, side: str, limit: Decimal) -> bool:
    """Whether a resting `side` order at `limit` is now marketable against `book`."""
    if side == "buy":
        return bool(book.asks) and Decimal(repr(book.asks[0][0])) <= limit
    return bool(book.bids) and Decimal(repr(book.bids[0][0])) >= limit


def triggered(book: BookSnapshot, side: str, stop: Decimal) -> bool:
    """Whether a stop order's trigger is reached (a buy stop by the ask, a sell stop by the bid)."""
    if side == "buy":
        return bool(book.asks) and Decimal(repr(book.asks[0][0])) >= stop
    return bool(book.bids) and Decimal(repr(book.bids[0][0])) <= stop
