"""The simulator's own endpoints under /_sim: health, state for tests, faults on demand."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from breakout.exchange_sim import faults as fx
from breakout.exchange_sim.exchange import SymbolFeed
from breakout.exchange_sim.market import SymbolMarket
from breakout.exchange_sim.state import SimState, state_of


async def health(request: web.Request) -> web.Response:
    """`GET /_sim/health`."""
    state = state_of(request)
    return web.json_response(
        {"status": "ok", "now_ms": state.exchange.now_ms, "symbols": len(state.exchange.feeds)}
    )


def _symbol_state(feed: SymbolFeed) -> dict[str, Any]:
    spec = feed.spec
    book = feed.book
    out: dict[str, Any] = {
        "best_bid": spec.price_text(b) if (b := book.best_bid()) is not None else None,
        "best_ask": spec.price_text(a) if (a := book.best_ask()) is not None else None,
        "bid_levels": len(book.bids),
        "ask_levels": len(book.asks),
        "update_id": book.update_id,
        "last_trade_id": feed.tape.next_trade_id - 1,
        "last_agg_id": feed.tape.next_agg_id - 1,
        "crossed": book.is_crossed(),
    }
    if isinstance(feed, SymbolMarket):
        out |= {
            "regime": feed.regime.value,
            "regimes_seen": {r.value: n for r, n in feed.regimes_seen.items()},
            "fair": round(feed.fair_ticks() / 10**spec.price_decimals, spec.price_decimals),
            "walls": dict(feed.walls.counts),
            "live_walls": len(feed.walls.live),
        }
    return out


async def sim_state(request: web.Request) -> web.Response:
    """`GET /_sim/state`: market, connections, faults and balances (no secrets)."""
    state = state_of(request)
    exchange = state.exchange
    accounts = {
        key[:4] + "…": {
            asset: {"free": str(b.free), "locked": str(b.locked)}
            for asset, b in acct.balances.items()
        }
        for key, acct in exchange.matching.accounts.by_key.items()
    }
    return web.json_response(
        {
            "now_ms": exchange.now_ms,
            "step_ms": exchange.step_ms,
            "speed": state.speed,
            "connections": len(state.hub.connections),
            "connections_accepted": state.hub.accepted,
            "subscriptions": sorted(state.hub.wanted()),
            "faults": state.faults.describe(state.wall_ms()),
            "symbols": {symbol: _symbol_state(feed) for symbol, feed in exchange.feeds.items()},
            "accounts": accounts,
        }
    )


async def apply_fault(state: SimState, fault: fx.Fault) -> dict[str, Any]:
    """Put a fault into force; returns what was done."""
    now = state.wall_ms()
    faults = state.faults
    match fault:
        case fx.DropWs():
            return {"dropped": await state.hub.drop_all()}
        case fx.StallWs(seconds=seconds):
            faults.stall_until_ms = now + round(seconds * 1000)
            return {"stalled_until_ms": faults.stall_until_ms}
        case fx.SkipDepth(symbol=symbol, count=count):
            feeds = [state.exchange.feed(symbol)] if symbol else list(state.exchange.feeds.values())
            for feed in feeds:
                feed.book.skip_ids(count)
            return {"skipped": {f.spec.symbol: count for f in feeds}}
        case fx.RateLimit(requests=requests, seconds=seconds):
            faults.rate_limit = (fx.Window.of(requests, seconds, now), fault)
        case fx.RejectOrders(count=count, seconds=seconds):
            faults.reject = (fx.Window.of(count, seconds, now), fault)
        case fx.DelayOrders(count=count, seconds=seconds):
            faults.delay = (fx.Window.of(count, seconds, now), fault)
        case fx.Restart():
            faults.clear()
            return {"dropped": await state.hub.drop_all()}
        case fx.Clear():
            faults.clear()
    return {"faults": faults.describe(now)}


async def post_fault(request: web.Request) -> web.Response:
    """`POST /_sim/faults` with a JSON fault request (see faults.py)."""
    state = state_of(request)
    try:
        fault = fx.decode_fault(await request.read())
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(
        {"applied": fault.__struct_config__.tag, **await apply_fault(state, fault)}
    )


def add_routes(app: web.Application) -> None:
    """Mount the /_sim endpoints."""
    app.router.add_get("/_sim/health", health)
    app.router.add_get("/_sim/state", sim_state)
    app.router.add_post("/_sim/faults", post_fault)
