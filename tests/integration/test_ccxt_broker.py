"""Execution's broker through the real ccxt.pro against the exchange simulator on loopback:
the answers it reads for the orders the core places (here a stop-limit breakout entry)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from breakout.exchange_sim.testing import TEST_API_KEY, TEST_API_SECRET, RunningSim, running_sim
from breakout.execution.ccxt_broker import CcxtBroker
from tests.integration.test_exchange_sim_ccxt import quiet_exchange
from tests.integration.trading_support import client
from tests.unit.execution.test_paper import order

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(exchange=quiet_exchange(), run_clock=False) as running:
        yield running


@pytest.fixture
async def broker(sim: RunningSim) -> AsyncIterator[CcxtBroker]:
    broker = CcxtBroker(client(sim, (TEST_API_KEY, TEST_API_SECRET)))
    yield broker
    await broker.close()


async def test_a_stop_limit_entry_not_yet_triggered_is_read_not_refused(
    sim: RunningSim, broker: CcxtBroker
) -> None:
    # Binance (and the simulator) answer `workingTime: -1` for a stop order not yet triggered,
    # which ccxt takes for the order's `timestamp`. The chaos run's sessions each refused this
    # answer as malformed and recorded an exchange error for the one entry they placed.
    feed = sim.exchange.feeds["BTCUSDT"]
    ask = Decimal(str(feed.spec.price(feed.book.best_ask() or 0)))
    stop = (ask * Decimal("1.01")).quantize(Decimal("0.01"))
    limit = (stop * Decimal("1.001")).quantize(Decimal("0.01"))
    entry = order("entry-1", "buy", "0.01", str(limit), kind="stop_limit", stop=str(stop))
    before = sim.exchange.now_ms

    placed = await broker.place(entry)

    assert (placed.status, placed.filled, placed.qty) == ("open", Decimal(0), Decimal("0.01"))
    assert placed.client_order_id == "entry-1"
    assert before <= placed.ts_ms <= sim.exchange.now_ms + 1_000  # the placement's own time
    found = await broker.find("BTCUSDT", "entry-1")
    assert found is not None and found.exchange_order_id == placed.exchange_order_id
    assert found.status == "open" and found.ts_ms >= before
