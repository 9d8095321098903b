"""Signed requests: HMAC over query + body, key, signature and receive-window checks."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.exchange_sim.accounts import AccountConfig, Accounts
from breakout.exchange_sim.errors import BinanceError
from breakout.exchange_sim.signing import sign, split_signature, verify_signed

NOW = 1_700_000_000_000
ACCOUNTS = Accounts([AccountConfig(api_key="key", secret="secret")])


def signed(params: dict[str, str], secret: str = "secret") -> str:
    query = urlencode(params)
    return f"{query}&signature={sign(secret, query)}"


def test_binance_documentation_example_signature() -> None:
    # From Binance's REST API documentation (HMAC SHA256 example).
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    expected = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert sign(secret, payload) == expected


def test_good_signature_in_query_or_body() -> None:
    params = {"symbol": "BTCUSDT", "timestamp": str(NOW)}
    account, got = verify_signed(ACCOUNTS, "key", signed(params), "", NOW)
    assert account.api_key == "key" and got == params
    account, got = verify_signed(ACCOUNTS, "key", "", signed(params), NOW)
    assert got == params


@pytest.mark.parametrize(
    ("api_key", "secret", "code", "status"),
    [
        ("nope", "secret", -2015, 401),
        (None, "secret", -2014, 401),
        ("key", "wrong", -1022, 400),
    ],
)
def test_bad_key_or_signature(api_key: str | None, secret: str, code: int, status: int) -> None:
    query = signed({"timestamp": str(NOW)}, secret)
    with pytest.raises(BinanceError) as refused:
        verify_signed(ACCOUNTS, api_key, query, "", NOW)
    assert (refused.value.code, refused.value.status) == (code, status)


def test_tampered_parameters_fail_the_signature() -> None:
    query = signed({"symbol": "BTCUSDT", "quantity": "1", "timestamp": str(NOW)})
    with pytest.raises(BinanceError) as refused:
        verify_signed(ACCOUNTS, "key", query.replace("quantity=1", "quantity=9"), "", NOW)
    assert refused.value.code == -1022


@pytest.mark.parametrize(
    ("timestamp", "recv_window"),
    [(NOW - 5_001, None), (NOW - 20_000, "10000"), (NOW + 1_001, None)],
)
def test_timestamp_outside_the_receive_window(timestamp: int, recv_window: str | None) -> None:
    params = {"timestamp": str(timestamp)}
    if recv_window:
        params["recvWindow"] = recv_window
    with pytest.raises(BinanceError) as refused:
        verify_signed(ACCOUNTS, "key", signed(params), "", NOW)
    assert refused.value.code == -1021


def test_missing_signature_or_timestamp() -> None:
    with pytest.raises(BinanceError) as refused:
        verify_signed(ACCOUNTS, "key", "timestamp=1", "", NOW)
    assert refused.value.code == -1102
    query = "symbol=BTCUSDT"
    with pytest.raises(BinanceError) as refused:
        verify_signed(ACCOUNTS, "key", f"{query}&signature={sign('secret', query)}", "", NOW)
    assert refused.value.code == -1102 and "timestamp" in refused.value.msg


_param = st.tuples(st.sampled_from("abcxyz"), st.text("0123456789", min_size=1, max_size=5))


@given(st.lists(_param, max_size=5), st.lists(_param, max_size=5))
def test_split_signature_removes_only_the_signature(
    before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    parts = [f"{k}={v}" for k, v in before] + ["signature=abc123"] + [f"{k}={v}" for k, v in after]
    rest, signature = split_signature("&".join(parts))
    assert signature == "abc123"
    assert rest == "&".join(p for p in parts if not p.startswith("signature="))
