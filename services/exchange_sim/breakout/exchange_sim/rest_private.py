"""Signed Binance REST endpoints: orders, open/all orders, my trades, account."""

from __future__ import annotations

import asyncio

from aiohttp import web

from breakout.exchange_sim import errors, order_wire
from breakout.exchange_sim.accounts import Account
from breakout.exchange_sim.orders import Order, parse_order_request
from breakout.exchange_sim.protocol import JsonDict
from breakout.exchange_sim.rest_public import int_param, limit_param
from breakout.exchange_sim.signing import verify_signed
from breakout.exchange_sim.state import SimState, state_of
from breakout.exchange_sim.userstream import publish_user_events


async def _signed(request: web.Request) -> tuple[SimState, Account, dict[str, str]]:
    """Check key, signature and timestamp; returns the state, the account and the parameters."""
    state = state_of(request)
    body = await request.text() if request.can_read_body else ""
    account, params = verify_signed(
        state.exchange.matching.accounts,
        request.headers.get("X-MBX-APIKEY"),
        request.query_string,
        body,
        state.wall_ms(),
    )
    return state, account, params


def _symbol(params: dict[str, str]) -> str:
    symbol = params.get("symbol")
    if not symbol:
        raise errors.mandatory("symbol")
    return symbol.upper()


async def new_order(request: web.Request) -> web.Response:
    """`POST /api/v3/order`: place an order (faults may reject or delay it first)."""
    state, account, params = await _signed(request)
    exchange = state.exchange
    feed = exchange.feed(_symbol(params))
    order_request = parse_order_request(params, feed.spec)
    rejection = state.faults.order_rejection(state.wall_ms())
    if rejection is not None:
        raise errors.BinanceError(rejection.code, rejection.msg)
    delay_s = state.faults.order_delay_s(state.wall_ms())
    if delay_s > 0:
        await asyncio.sleep(delay_s)
    order = exchange.matching.place(account.api_key, order_request, exchange.now_ms)
    publish_user_events(state)
    return web.json_response(
        order_wire.new_order_json(feed.spec, order, order_request.response_type)
    )


async def test_order(request: web.Request) -> web.Response:
    """`POST /api/v3/order/test`: validate only."""
    state, _account, params = await _signed(request)
    parse_order_request(params, state.exchange.feed(_symbol(params)).spec)
    return web.json_response({})


def _order_ref(params: dict[str, str]) -> tuple[int | None, str | None]:
    return int_param(params, "orderId"), params.get("origClientOrderId") or None


async def cancel_order(request: web.Request) -> web.Response:
    """`DELETE /api/v3/order`."""
    state, account, params = await _signed(request)
    exchange = state.exchange
    symbol = _symbol(params)
    order_id, client_id = _order_ref(params)
    order = exchange.matching.cancel(account.api_key, symbol, order_id, client_id, exchange.now_ms)
    publish_user_events(state)
    return web.json_response(
        order_wire.cancel_json(exchange.feed(symbol).spec, order, exchange.now_ms)
    )


async def query_order(request: web.Request) -> web.Response:
    """`GET /api/v3/order`."""
    state, account, params = await _signed(request)
    symbol = _symbol(params)
    order_id, client_id = _order_ref(params)
    order = state.exchange.matching.find(account.api_key, symbol, order_id, client_id)
    return web.json_response(order_wire.order_json(state.exchange.feed(symbol).spec, order))


def _orders_json(state: SimState, orders: list[Order]) -> list[JsonDict]:
    return [order_wire.order_json(state.exchange.feed(o.symbol).spec, o) for o in orders]


async def open_orders(request: web.Request) -> web.Response:
    """`GET /api/v3/openOrders` (one symbol or all)."""
    state, account, params = await _signed(request)
    orders = state.exchange.matching.open_orders(account.api_key, params.get("symbol"))
    return web.json_response(_orders_json(state, orders))


async def cancel_open_orders(request: web.Request) -> web.Response:
    """`DELETE /api/v3/openOrders`: cancel every open order of a symbol."""
    state, account, params = await _signed(request)
    exchange = state.exchange
    symbol = _symbol(params)
    spec = exchange.feed(symbol).spec
    cancelled = [
        exchange.matching.cancel(account.api_key, symbol, o.order_id, None, exchange.now_ms)
        for o in exchange.matching.open_orders(account.api_key, symbol)
    ]
    if not cancelled:
        raise errors.cancel_rejected()
    publish_user_events(state)
    return web.json_response([order_wire.cancel_json(spec, o, exchange.now_ms) for o in cancelled])


def _time_window(params: dict[str, str]) -> tuple[int, int]:
    start = int_param(params, "startTime", 0)
    end = int_param(params, "endTime", 2**62)
    assert start is not None and end is not None
    return start, end


async def all_orders(request: web.Request) -> web.Response:
    """`GET /api/v3/allOrders`: orders of a symbol from `orderId` or within a time window."""
    state, account, params = await _signed(request)
    symbol = _symbol(params)
    state.exchange.feed(symbol)
    from_id = int_param(params, "orderId", 0) or 0
    start, end = _time_window(params)
    limit = limit_param(params, 500, 1000)
    orders = [
        o
        for o in sorted(account.orders.values(), key=lambda o: o.order_id)
        if o.symbol == symbol and o.order_id >= from_id and start <= o.time_ms <= end
    ]
    return web.json_response(_orders_json(state, orders[:limit] if from_id else orders[-limit:]))


async def my_trades(request: web.Request) -> web.Response:
    """`GET /api/v3/myTrades`: our fills of a symbol."""
    state, account, params = await _signed(request)
    symbol = _symbol(params)
    spec = state.exchange.feed(symbol).spec
    order_id = int_param(params, "orderId")
    from_id = int_param(params, "fromId", 0) or 0
    start, end = _time_window(params)
    limit = limit_param(params, 500, 1000)
    rows = [
        t
        for t in account.trades
        if t.symbol == symbol
        and (order_id is None or t.order_id == order_id)
        and t.trade_id >= from_id
        and start <= t.ts_ms <= end
    ]
    rows = rows[:limit] if from_id else rows[-limit:]
    return web.json_response([order_wire.my_trade_json(spec, t) for t in rows])


async def account_info(request: web.Request) -> web.Response:
    """`GET /api/v3/account`: balances and fee rates."""
    state, account, _params = await _signed(request)
    return web.json_response(order_wire.account_json(state.exchange.matching.accounts, account))


def add_routes(app: web.Application) -> None:
    """Mount the signed endpoints."""
    app.router.add_post("/api/v3/order", new_order)
    app.router.add_post("/api/v3/order/test", test_order)
    app.router.add_delete("/api/v3/order", cancel_order)
    app.router.add_get("/api/v3/order", query_order)
    app.router.add_get("/api/v3/openOrders", open_orders)
    app.router.add_delete("/api/v3/openOrders", cancel_open_orders)
    app.router.add_get("/api/v3/allOrders", all_orders)
    app.router.add_get("/api/v3/myTrades", my_trades)
    app.router.add_get("/api/v3/account", account_info)
