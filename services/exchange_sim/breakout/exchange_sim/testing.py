"""Helpers for tests that need the exchange simulator: run it in-process, point ccxt at it.

    async with running_sim(["BTCUSDT", "ETHUSDT"]) as sim:
        exchange = ccxt.pro.binance(ccxt_config(sim.base_url, sim.api_key, sim.api_secret))
        await exchange.load_markets()
        await sim.fault("skip_depth", symbol="BTCUSDT", count=5)

The server listens on a free loopback port; the market starts at the current wall time with a
fixed seed, so two runs see the same market modulo timing.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from aiohttp import web

from breakout.common.exchange import ccxt_config as common_ccxt_config
from breakout.exchange_sim.accounts import DEFAULT_BALANCES, AccountConfig, Accounts
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.macro_http import setup_macro_routes
from breakout.exchange_sim.macro_world import MacroWorld
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.scenario import Phase, script_markets
from breakout.exchange_sim.server import serve
from breakout.exchange_sim.state import wall_clock_ms

TEST_API_KEY = "sim-test-key"
TEST_API_SECRET = "sim-test-secret"


@dataclass(frozen=True, slots=True)
class RunningSim:
    """A simulator serving on loopback: where it is, its exchange, and the test credentials."""

    base_url: str
    port: int
    exchange: SimExchange
    api_key: str
    api_secret: str

    async def fault(self, action: str, **params: Any) -> dict[str, Any]:
        """Apply a fault through the control endpoint (`POST /_sim/faults`)."""
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.post("/_sim/faults", json={"action": action, **params})
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

    async def state(self) -> dict[str, Any]:
        """`GET /_sim/state`."""
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.get("/_sim/state")
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result


@asynccontextmanager
async def running_sim(
    symbols: list[str] | tuple[str, ...] = ("BTCUSDT", "ETHUSDT"),
    *,
    seed: int = 1,
    speed: float = 1.0,
    trade_rate_multiplier: float = 1.0,
    history_days: float = 2.0,
    api_key: str = TEST_API_KEY,
    api_secret: str = TEST_API_SECRET,
    balances: dict[str, Decimal] | None = None,
    exchange: SimExchange | None = None,
    run_clock: bool = True,
    configure: Callable[[web.Application], None] | None = None,
    weight_limit: int | None = None,
    start_ms: int | None = None,
    scripts: Mapping[str, Sequence[Phase]] | None = None,
) -> AsyncIterator[RunningSim]:
    """Serve a simulated exchange on a free 127.0.0.1 port for the duration of the block.

    Pass `exchange` to serve one built elsewhere (a replay, special accounts); otherwise the
    market simulator runs `symbols` with `seed`, and one account holds `balances` (default
    100,000 USDT) under `api_key` / `api_secret`. With `run_clock=False` the market does not
    move (advance `sim.exchange` by hand for a quiet, race-free exchange). `configure` mounts
    more routes on the same server (e.g. the macro and news feeds). `weight_limit` (e.g.
    6000, Binance's) refuses REST calls past that request weight per minute with 429.
    `start_ms` sets the simulated time at the start (default: now); `scripts` makes symbols
    follow scripted phases (`scenario.py`: a compression, then a breakout or a fake-out).
    """
    if exchange is None:
        accounts = Accounts(
            [
                AccountConfig(
                    api_key=api_key, secret=api_secret, balances=balances or DEFAULT_BALANCES
                )
            ]
        )
        exchange = SimExchange.simulated(
            list(symbols),
            start_ms=wall_clock_ms() if start_ms is None else start_ms,
            config=MarketConfig(
                seed=seed, trade_rate_multiplier=trade_rate_multiplier, history_days=history_days
            ),
            accounts=accounts,
        )
    if scripts:
        script_markets(exchange.feeds, scripts)
    runner, port = await serve(
        exchange,
        "127.0.0.1",
        0,
        speed=speed,
        run_clock=run_clock,
        # By default the macro and news feeds are served too, as `breakout-exchange-sim` does.
        configure=configure or functools.partial(setup_macro_routes, world=MacroWorld(seed=seed)),
        weight_limit=weight_limit,
    )
    try:
        yield RunningSim(
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            exchange=exchange,
            api_key=api_key,
            api_secret=api_secret,
        )
    finally:
        await runner.cleanup()


def ccxt_config(
    base_url: str, api_key: str | None = None, secret: str | None = None
) -> dict[str, Any]:
    """Constructor config for `ccxt.async_support.binance` / `ccxt.pro.binance` on the simulator.

    `base_url` is `http://host:port`; keys are optional (public data needs none).
    """
    return common_ccxt_config(
        "binance", base_url, api_key=api_key, secret=secret, enable_rate_limit=False
    )
