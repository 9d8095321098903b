"""Reconcile settings (from the environment, like execution's: keys only from env)."""

from __future__ import annotations

import os

import msgspec


class ReconcileSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What to compare, where, and how often."""

    symbols: tuple[str, ...]
    interval_s: float = 30.0
    exchange_id: str = "binance"
    venue: str = "binance"
    base_url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None


def settings_from_env(
    symbols: tuple[str, ...], interval_s: float | None = None
) -> ReconcileSettings:
    """`RECONCILE_INTERVAL_S` (default 30), the exchange and keys as execution reads them."""
    env = os.environ.get
    return ReconcileSettings(
        symbols=symbols,
        interval_s=interval_s
        if interval_s is not None
        else float(env("RECONCILE_INTERVAL_S", "30")),
        exchange_id=env("EXECUTION_EXCHANGE", "binance"),
        venue=env("EXECUTION_VENUE", "binance"),
        base_url=env("EXCHANGE_BASE_URL") or None,
        api_key=env("EXCHANGE_API_KEY") or None,
        api_secret=env("EXCHANGE_API_SECRET") or None,
    )
