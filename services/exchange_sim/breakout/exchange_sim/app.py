"""`breakout-exchange-sim`: run the simulator, or put faults into a running one.

breakout-exchange-sim run --port 8765 --symbols BTCUSDT,ETHUSDT --seed 7
SIM_API_KEY=k SIM_API_SECRET=s breakout-exchange-sim run --balances USDT=50000,BTC=1
breakout-exchange-sim run --replay ../shared/data        # recorded samples instead
breakout-exchange-sim fault stall-ws --seconds 5
breakout-exchange-sim state
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import httpx
import structlog
import typer

from breakout.common.logging import configure_logging
from breakout.exchange_sim.accounts import DEFAULT_BALANCES, AccountConfig, Accounts
from breakout.exchange_sim.demo import (
    BASE_MINUTES,
    SCENARIOS,
    demo_macro_script,
    demo_macro_start,
    demo_scripts,
    demo_start_ms,
    demo_symbols,
)
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.macro_http import setup_macro_routes
from breakout.exchange_sim.macro_world import MacroWorld
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.replay import load_replay
from breakout.exchange_sim.scenario import script_markets
from breakout.exchange_sim.server import serve
from breakout.exchange_sim.specs import default_symbols
from breakout.exchange_sim.state import wall_clock_ms

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
BUILD_LOG_EVERY_S = 10.0

cli = typer.Typer(help="Binance-protocol exchange simulator (market simulator or replay).")
fault_cli = typer.Typer(help="Put a fault into a running simulator (POST /_sim/faults).")
cli.add_typer(fault_cli, name="fault")
log = structlog.get_logger("exchange_sim")

UrlOption = Annotated[str, typer.Option("--url", envvar="SIM_URL", help="Simulator base URL.")]


def parse_balances(text: str) -> dict[str, Decimal]:
    """`USDT=100000,BTC=1` as a mapping of asset to amount."""
    balances: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        asset, sep, amount = part.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation as exc:
            raise typer.BadParameter(f"bad amount in {part!r}") from exc
        if not sep or not asset or value < 0:
            raise typer.BadParameter(f"expected ASSET=AMOUNT, got {part!r}")
        balances[asset.upper()] = value
    return balances


def parse_accounts(text: str) -> list[AccountConfig]:
    """Accounts from JSON: a list of {"api_key", "secret", "balances": {asset: amount}}."""
    try:
        raw = json.loads(text)
        if not isinstance(raw, list):
            raise TypeError("expected a list")
        return [
            AccountConfig(
                api_key=str(item["api_key"]),
                secret=str(item["secret"]),
                balances={k.upper(): Decimal(str(v)) for k, v in item.get("balances", {}).items()},
            )
            for item in raw
        ]
    except (ValueError, TypeError, KeyError, InvalidOperation, AttributeError) as exc:
        # Never echo the text: it holds secrets.
        raise typer.BadParameter(
            f"SIM_ACCOUNTS / --accounts-json is not valid: {type(exc).__name__}"
        ) from exc


@cli.command()
def run(  # noqa: PLR0917 - typer maps each option to a parameter
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = DEFAULT_PORT,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "BTCUSDT,ETHUSDT",
    symbol_count: Annotated[
        int | None,
        typer.Option(help="List this many symbols instead (known markets, then SIM001USDT…)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the market simulator.")] = 1,
    start_ms: Annotated[
        int | None,
        typer.Option(
            help="Simulated time at start, ms since epoch (default: now); with --seed, "
            "the same market every run."
        ),
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 1.0,
    step_ms: Annotated[int, typer.Option(help="Simulation step in milliseconds.")] = 100,
    trade_rate_multiplier: Annotated[
        float, typer.Option(help="Scale every symbol's trade rate (benchmarks drive it up).")
    ] = 1.0,
    regime_time_scale: Annotated[
        float, typer.Option(help="Scale regime durations (below 1: regimes change faster).")
    ] = 1.0,
    history_days: Annotated[float, typer.Option(help="Days of 1m klines backfilled.")] = 3.0,
    tape_capacity: Annotated[
        int, typer.Option(help="Trades kept per symbol for REST backfills (by id or time).")
    ] = 20_000,
    tape_minutes: Annotated[
        float, typer.Option(help="Simulated minutes of trades kept per symbol (at most).")
    ] = 10.0,
    api_key: Annotated[
        str | None, typer.Option(envvar="SIM_API_KEY", help="API key of the trading account.")
    ] = None,
    api_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SIM_API_SECRET", help="API secret of that account.", show_default=False
        ),
    ] = None,
    balances: Annotated[str, typer.Option(help="Opening balances, e.g. USDT=100000,BTC=1.")] = "",
    accounts_json: Annotated[
        str | None,
        typer.Option(
            envvar="SIM_ACCOUNTS",
            help='More accounts: [{"api_key": …, "secret": …, "balances": {"USDT": "1000"}}].',
            show_default=False,
        ),
    ] = None,
    maker_fee_bps: Annotated[float, typer.Option(help="Maker fee in basis points.")] = 10.0,
    taker_fee_bps: Annotated[float, typer.Option(help="Taker fee in basis points.")] = 10.0,
    replay: Annotated[
        Path | None,
        typer.Option(help="Replay recorded data (a folder of samples or a .jsonl export)."),
    ] = None,
    weight_limit: Annotated[
        int, typer.Option(help="Request weight per minute and IP before 429 (0: no limit).")
    ] = 6000,
    scenario: Annotated[
        str,
        typer.Option(
            help="none (the regime chain and a macro world drawn from the seed) or demo "
            "(scripted breakouts on the first six symbols, a risk-on macro world; demo.py)."
        ),
    ] = "none",
    log_level: Annotated[str, typer.Option(help="Log level.")] = "INFO",
) -> None:
    """Serve the Binance spot protocol on host:port until interrupted."""
    configure_logging("exchange_sim", log_level)
    if (api_key is None) != (api_secret is None):
        raise typer.BadParameter("give both --api-key and --api-secret, or neither")
    configs = []
    if api_key is not None and api_secret is not None:
        opening = parse_balances(balances) if balances else DEFAULT_BALANCES
        configs.append(AccountConfig(api_key=api_key, secret=api_secret, balances=opening))
    configs += parse_accounts(accounts_json) if accounts_json else []
    if not configs:
        log.warning("exchange_sim.no_account", hint="set SIM_API_KEY and SIM_API_SECRET to trade")
    accounts = Accounts(
        configs,
        maker_fee_bps=Decimal(str(maker_fee_bps)),
        taker_fee_bps=Decimal(str(taker_fee_bps)),
    )
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"--scenario must be one of {', '.join(SCENARIOS)}")
    demo = scenario == "demo"
    if start_ms is None:
        start_ms = demo_start_ms(wall_clock_ms()) if demo else wall_clock_ms()
    symbol_list = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if symbol_count is not None:
        symbol_list = default_symbols(symbol_count)
    if replay is not None:
        exchange = load_replay(replay, start_ms=start_ms, step_ms=step_ms, accounts=accounts)
    else:
        config = MarketConfig(
            seed=seed,
            trade_rate_multiplier=trade_rate_multiplier,
            regime_time_scale=regime_time_scale,
            history_days=history_days,
            tape_capacity=tape_capacity,
            tape_minutes=tape_minutes,
            quiet_tail_symbols=frozenset(demo_symbols(symbol_list) if demo else ()),
            quiet_tail_minutes=BASE_MINUTES if demo else 0,
        )
        exchange = SimExchange.simulated(
            symbol_list,
            start_ms=start_ms,
            config=config,
            step_ms=step_ms,
            accounts=accounts,
            progress=_build_progress(len(symbol_list), history_days),
        )
        if demo:
            script_markets(exchange.feeds, demo_scripts(symbol_list))
    macro = (
        MacroWorld(seed=seed, start=demo_macro_start(datetime.now(UTC)), script=demo_macro_script())
        if demo
        else MacroWorld(seed=seed)
    )
    asyncio.run(_serve_forever(exchange, host, port, speed, weight_limit or None, macro))


def _build_progress(total: int, history_days: float) -> Callable[[int], None]:
    """Logs how many markets are built, every BUILD_LOG_EVERY_S and at the end."""
    started = time.monotonic()
    logged = started

    def report(built: int) -> None:
        nonlocal logged
        now = time.monotonic()
        if built == total or now - logged >= BUILD_LOG_EVERY_S:
            logged = now
            log.info(
                "exchange_sim.markets_built" if built == total else "exchange_sim.building_markets",
                built=built,
                of=total,
                history_days=history_days,
                elapsed_s=round(now - started, 1),
            )

    return report


async def _serve_forever(  # noqa: PLR0917 - one call site, each argument a CLI option
    exchange: SimExchange,
    host: str,
    port: int,
    speed: float,
    weight_limit: int | None,
    macro: MacroWorld,
) -> None:
    runner, bound = await serve(
        exchange,
        host,
        port,
        speed=speed,
        weight_limit=weight_limit,
        configure=lambda app: setup_macro_routes(app, macro),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    typer.echo(f"exchange_sim listening on http://{host}:{bound}", err=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _post_fault(url: str, body: dict[str, Any]) -> None:
    payload = {k: v for k, v in body.items() if v is not None}
    try:
        response = httpx.post(f"{url.rstrip('/')}/_sim/faults", json=payload, timeout=10)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the simulator at {url}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(response.text)
    if response.status_code != 200:
        raise typer.Exit(1)


@fault_cli.command("drop-ws")
def drop_ws(url: UrlOption = DEFAULT_URL) -> None:
    """Close every websocket connection."""
    _post_fault(url, {"action": "drop_ws"})


@fault_cli.command("stall-ws")
def stall_ws(seconds: Annotated[float, typer.Option()], url: UrlOption = DEFAULT_URL) -> None:
    """Send nothing on any websocket for SECONDS (connections stay open)."""
    _post_fault(url, {"action": "stall_ws", "seconds": seconds})


@fault_cli.command("skip-depth")
def skip_depth(
    symbol: Annotated[str | None, typer.Option(help="One symbol (default: all).")] = None,
    count: Annotated[int, typer.Option(help="Update ids to skip.")] = 10,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Make the next diff-depth update ids jump."""
    _post_fault(url, {"action": "skip_depth", "symbol": symbol, "count": count})


@fault_cli.command("rate-limit")
def rate_limit(
    status: Annotated[int, typer.Option(help="429 or 418.")] = 429,
    requests: Annotated[int | None, typer.Option(help="For this many requests.")] = None,
    seconds: Annotated[float | None, typer.Option(help="For this many seconds.")] = None,
    retry_after: Annotated[int, typer.Option(help="Retry-After header, seconds.")] = 1,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Answer REST calls with 429/418."""
    body = {"action": "rate_limit", "status": status, "requests": requests, "seconds": seconds}
    _post_fault(url, body | {"retry_after_s": retry_after})


@fault_cli.command("reject-orders")
def reject_orders(
    count: Annotated[int | None, typer.Option()] = None,
    seconds: Annotated[float | None, typer.Option()] = None,
    code: Annotated[int, typer.Option()] = -2010,
    msg: Annotated[str | None, typer.Option()] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Refuse new orders with a Binance error."""
    body = {"action": "reject_orders", "count": count, "seconds": seconds, "code": code, "msg": msg}
    _post_fault(url, body)


@fault_cli.command("delay-orders")
def delay_orders(
    delay: Annotated[float, typer.Option(help="Seconds to hold each order.")],
    count: Annotated[int | None, typer.Option()] = None,
    seconds: Annotated[float | None, typer.Option()] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Hold new orders before matching them."""
    body = {"action": "delay_orders", "delay_s": delay, "count": count, "seconds": seconds}
    _post_fault(url, body)


@fault_cli.command("restart")
def restart(url: UrlOption = DEFAULT_URL) -> None:
    """Drop connections and faults; keep the market and accounts."""
    _post_fault(url, {"action": "restart"})


@fault_cli.command("clear")
def clear(url: UrlOption = DEFAULT_URL) -> None:
    """End every lasting fault."""
    _post_fault(url, {"action": "clear"})


@cli.command()
def state(url: UrlOption = DEFAULT_URL) -> None:
    """Print `GET /_sim/state` of a running simulator."""
    with contextlib.suppress(httpx.HTTPError):
        response = httpx.get(f"{url.rstrip('/')}/_sim/state", timeout=10)
        typer.echo(json.dumps(response.json(), indent=2))
        return
    typer.echo(f"cannot reach the simulator at {url}", err=True)
    raise typer.Exit(2)
