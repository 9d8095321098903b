"""Building ccxt / ccxt.pro clients: the real exchange, or `exchange_sim` on loopback.

Every service that reaches an exchange (ingest, execution, reconcile) builds its client here,
so the loopback overrides that make the real ccxt talk to the simulator live in one place.
Keys come from the caller (read from the environment by the service), never from files.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro


def ccxt_config(
    exchange_id: str = "binance",
    base_url: str | None = None,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    enable_rate_limit: bool = True,
) -> dict[str, Any]:
    """Constructor options for a ccxt exchange; with `base_url`, point Binance spot at it.

    The overrides follow what ccxt needs from a loopback server: REST under `/api/v3`, the
    websocket under `/stream/ws` (ccxt tells spot from futures by `/stream`), spot markets
    only, and no currency or margin endpoints (they live on hosts the simulator is not).
    """
    config: dict[str, Any] = {"enableRateLimit": enable_rate_limit}
    if api_key:
        config["apiKey"] = api_key
    if secret:
        config["secret"] = secret
    if base_url is None:
        return config
    if exchange_id != "binance":
        raise ValueError(f"a loopback base_url is supported for binance only, not {exchange_id}")
    http = base_url.rstrip("/")
    ws = http.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    config["urls"] = {
        "api": {
            "public": f"{http}/api/v3",
            "private": f"{http}/api/v3",
            "v1": f"{http}/api/v1",
            "ws": {
                "spot": f"{ws}/stream/ws",
                "ws-api": {"spot": f"{ws}/ws-api/v3"},  # the user data stream (orders, fills)
            },
        }
    }
    config["options"] = {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    }
    return config


def pro_exchange(exchange_id: str, config: dict[str, Any]) -> ccxt.pro.Exchange:
    """A ccxt.pro exchange (websockets plus the async REST methods) built from `config`."""
    try:
        cls = getattr(ccxt.pro, exchange_id)
    except AttributeError:
        raise ValueError(f"ccxt.pro has no exchange {exchange_id!r}") from None
    exchange: ccxt.pro.Exchange = cls(config)
    return exchange
