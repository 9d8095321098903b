"""Execution settings: presets, symbols, broker, and the exchange to reach (from the environment).

Keys come only from `EXCHANGE_API_KEY` / `EXCHANGE_API_SECRET`; `EXCHANGE_BASE_URL` points ccxt
at exchange_sim; `EXECUTION_VENUE` names the exchange in the events (default `binance`).
Paper: `PAPER_BALANCES` (`USDT=100000`) and `PAPER_LATENCY_MS` (50).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Literal

import msgspec

BrokerKind = Literal["live", "paper"]


class ExecutionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What one execution process trades, and how."""

    presets: tuple[str, ...]
    symbols: tuple[str, ...]
    broker: BrokerKind = "paper"
    exchange_id: str = "binance"
    venue: str = "binance"
    base_url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    poll_s: float = 0.5
    balance_every_s: float = 10.0
    recv_window_s: float = 5.0
    paper_balances: dict[str, Decimal] = msgspec.field(
        default_factory=lambda: {"USDT": Decimal(100_000)}
    )
    paper_latency_ms: float = 50.0

    def __post_init__(self) -> None:
        if not self.presets:
            raise ValueError("name at least one preset")
        if not self.symbols:
            raise ValueError("name at least one symbol")


def settings_from_env(
    presets: tuple[str, ...], symbols: tuple[str, ...], broker: BrokerKind
) -> ExecutionSettings:
    """Settings for `presets` on `symbols`, the exchange and keys from the environment."""
    env = os.environ.get
    return ExecutionSettings(
        presets=presets,
        symbols=symbols,
        broker=broker,
        exchange_id=env("EXECUTION_EXCHANGE", "binance"),
        venue=env("EXECUTION_VENUE", "binance"),
        base_url=env("EXCHANGE_BASE_URL") or None,
        api_key=env("EXCHANGE_API_KEY") or None,
        api_secret=env("EXCHANGE_API_SECRET") or None,
        poll_s=float(env("EXECUTION_POLL_S", "0.5")),
        balance_every_s=float(env("EXECUTION_BALANCE_EVERY_S", "10")),
        paper_balances=parse_balances(env("PAPER_BALANCES", "USDT=100000")),
        paper_latency_ms=float(env("PAPER_LATENCY_MS", "50")),
    )


def parse_balances(raw: str) -> dict[str, Decimal]:
    """`USDT=100000,BTC=0.5` -> {"USDT": Decimal("100000"), "BTC": Decimal("0.5")}."""
    balances: dict[str, Decimal] = {}
    for part in raw.split(","):
        if part.strip():
            asset, _, amount = part.partition("=")
            balances[asset.strip().upper()] = Decimal(amount.strip())
    return balances


def live_refusal(settings: ExecutionSettings, confirmed: bool) -> str | None:
    """Why live trading must not start (None: it may): keys and an explicit confirmation."""
    if settings.broker != "live":
        return None
    if not (settings.api_key and settings.api_secret):
        return "live trading needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET in the environment"
    if not confirmed:
        return "live trading needs the explicit --i-understand-this-trades-real-money flag"
    return None
