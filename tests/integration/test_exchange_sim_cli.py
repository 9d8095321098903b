"""The `breakout-exchange-sim` command: run a server process, drive it with the fault commands."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from breakout.exchange_sim.signing import sign

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SECOND_ACCOUNT = '[{"api_key": "second", "secret": "s2", "balances": {"btc": "2"}}]'
CLI = [sys.executable, "-c", "from breakout.exchange_sim.app import cli; cli()"]


def _start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*CLI, "run", "--port", "0", "--history-days", "0.05", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return process, match.group(1)
    process.wait(timeout=10)
    raise AssertionError(f"the simulator did not start (exit {process.returncode})")


@pytest.fixture
def server() -> Iterator[str]:
    process, url = _start(
        "--symbols",
        "BTCUSDT,DOGEUSDT",
        "--seed",
        "3",
        env={
            "SIM_API_KEY": "cli-key",
            "SIM_API_SECRET": "cli-secret",
            "SIM_ACCOUNTS": SECOND_ACCOUNT,
        },
    )
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False)


def test_run_serves_the_listed_symbols_and_faults_apply(server: str) -> None:
    info = httpx.get(f"{server}/api/v3/exchangeInfo").json()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "DOGEUSDT"]
    done = cli("fault", "rate-limit", "--status", "418", "--requests", "1", "--url", server)
    assert done.returncode == 0, done.stderr
    assert httpx.get(f"{server}/api/v3/ping").status_code == 418
    assert httpx.get(f"{server}/api/v3/ping").status_code == 200
    refused = cli("fault", "skip-depth", "--symbol", "NOPEUSDT", "--url", server)
    assert refused.returncode == 1 and '"code": -1121' in refused.stdout
    state = json.loads(cli("state", "--url", server).stdout)
    assert set(state["symbols"]) == {"BTCUSDT", "DOGEUSDT"}
    assert "cli-secret" not in json.dumps(state)
    signed = httpx.get(
        f"{server}/api/v3/account",
        headers={"X-MBX-APIKEY": "other"},
        params={"timestamp": 1, "signature": "x"},
    )
    assert signed.json()["code"] == -2015


def test_accounts_from_the_environment_can_trade(server: str) -> None:
    for key, secret, asset, free in (
        ("cli-key", "cli-secret", "USDT", "100000.00000000"),
        ("second", "s2", "BTC", "2.00000000"),
    ):
        query = urlencode({"timestamp": int(time.time() * 1000)})
        response = httpx.get(
            f"{server}/api/v3/account?{query}&signature={sign(secret, query)}",
            headers={"X-MBX-APIKEY": key},
        )
        body = response.json()
        assert "balances" in body, body
        assert {b["asset"]: b["free"] for b in body["balances"]}[asset] == free


def test_bad_accounts_json_is_refused_without_echoing_it() -> None:
    done = subprocess.run(
        [*CLI, "run", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SIM_ACCOUNTS": '[{"api_key": "k", "secret": "hush"'},
    )
    assert done.returncode != 0
    assert "not valid" in done.stderr and "hush" not in done.stderr + done.stdout


def test_fault_command_without_a_server_fails_cleanly() -> None:
    done = cli("fault", "drop-ws", "--url", "http://127.0.0.1:9")
    assert done.returncode == 2 and "cannot reach" in done.stderr


@pytest.mark.skipif(not DATA.exists(), reason="no ../shared/data on this machine")
def test_replay_of_the_samples() -> None:
    process, url = _start("--replay", str(DATA))
    try:
        symbols = {s["symbol"] for s in httpx.get(f"{url}/api/v3/exchangeInfo").json()["symbols"]}
        assert symbols == {"BTCUSDT", "ETHUSDT", "XRPETH"}
        book = httpx.get(f"{url}/api/v3/depth", params={"symbol": "BTCUSDT"}).json()
        assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_same_seed_and_start_give_the_same_history() -> None:
    start_ms = 1_700_000_000_000
    histories = []
    for _ in range(2):
        process, url = _start("--symbols", "ETHUSDT", "--seed", "9", "--start-ms", str(start_ms))
        try:
            params = {"symbol": "ETHUSDT", "interval": "5m", "endTime": start_ms - 1, "limit": 12}
            histories.append(httpx.get(f"{url}/api/v3/klines", params=params).json())
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
    assert len(histories[0]) == 12
    assert histories[0] == histories[1]
