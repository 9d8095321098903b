"""Binance's error answers: `{"code": -1121, "msg": "Invalid symbol."}` with an HTTP status."""

from __future__ import annotations


class BinanceError(Exception):
    """A request refused the way Binance refuses it."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        """The JSON body Binance sends."""
        return {"code": self.code, "msg": self.msg}


def invalid_symbol() -> BinanceError:
    """-1121 for a symbol the exchange does not list."""
    return BinanceError(-1121, "Invalid symbol.")


def mandatory(name: str) -> BinanceError:
    """-1102 for a missing parameter."""
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def bad_value(name: str) -> BinanceError:
    """-1100 for a parameter that does not parse."""
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
    )


def invalid_interval() -> BinanceError:
    """-1120 for an unknown kline interval."""
    return BinanceError(-1120, "Invalid interval.")


def invalid_api_key() -> BinanceError:
    """-2015 (HTTP 401) for an unknown API key."""
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)


def bad_signature() -> BinanceError:
    """-1022 for a signature that does not match."""
    return BinanceError(-1022, "Signature for this request is not valid.")


def outside_recv_window() -> BinanceError:
    """-1021 for a timestamp outside the receive window."""
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def order_rejected(msg: str) -> BinanceError:
    """-2010 NEW_ORDER_REJECTED with Binance's reason text."""
    return BinanceError(-2010, msg)


def insufficient_balance() -> BinanceError:
    """-2010 when the account cannot pay for the order."""
    return order_rejected("Account has insufficient balance for requested action.")


def unknown_order() -> BinanceError:
    """-2013 when queried order does not exist."""
    return BinanceError(-2013, "Order does not exist.")


def cancel_rejected() -> BinanceError:
    """-2011 when a cancel names no open order."""
    return BinanceError(-2011, "Unknown order sent.")


def filter_failure(name: str) -> BinanceError:
    """-1013 when an order breaks a symbol filter (LOT_SIZE, PRICE_FILTER, NOTIONAL)."""
    return BinanceError(-1013, f"Filter failure: {name}")
