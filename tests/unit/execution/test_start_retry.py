"""Execution waits out an exchange that is away at start (as ingest does), but not bad keys
or an answer it cannot read."""

from __future__ import annotations

import pytest

from breakout.execution.broker import ExchangeUnavailable, MalformedAnswer, at_start


class Flaky:
    """An exchange that answers after `failures` temporary errors of `kind`."""

    def __init__(self, failures: int, kind: str = "network") -> None:
        self.failures, self.kind, self.calls = failures, kind, 0

    async def rules(self) -> list[str]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ExchangeUnavailable(self.kind, "ExchangeNotAvailable", "503 building markets")  # type: ignore[arg-type]
        return ["BTCUSDT"]


async def test_a_start_up_call_is_retried_while_the_exchange_is_away() -> None:
    exchange = Flaky(failures=2)
    assert await at_start(exchange.rules, "market rules") == ["BTCUSDT"]
    assert exchange.calls == 3


async def test_bad_keys_are_not_waited_out() -> None:
    exchange = Flaky(failures=5, kind="auth")
    with pytest.raises(ExchangeUnavailable):
        await at_start(exchange.rules, "market rules")
    assert exchange.calls == 1


async def test_an_unreadable_answer_is_not_waited_out() -> None:
    calls = 0

    async def rules() -> list[str]:
        nonlocal calls
        calls += 1
        raise MalformedAnswer("market BTCUSDT PRICE_FILTER", "tickSize is 'NaN'", {})

    with pytest.raises(MalformedAnswer, match="PRICE_FILTER: tickSize"):
        await at_start(rules, "market rules")
    assert calls == 1
