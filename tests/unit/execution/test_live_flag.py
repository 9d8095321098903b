"""Live trading never starts by default: `breakout-execution run --broker live` refuses (exit 2,
before connecting to anything) without keys in the environment or without its explicit flag;
paper is the default broker. (`breakout trade --live` is held to the same in
tests/integration/test_trading_cli.py.)"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from breakout.execution.app import cli
from breakout.execution.config import live_refusal, settings_from_env

FLAG = "--i-understand-this-trades-real-money"
KEYS = {"EXCHANGE_API_KEY": "key-0123456789", "EXCHANGE_API_SECRET": "secret-0123456789"}


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", "--preset", "breakout_v1", *args], env=env)
    return result.exit_code, result.output


def test_live_without_the_flag_refuses_to_start() -> None:
    code, output = _run("--broker", "live", env=KEYS)
    assert code == 2 and FLAG in output


def test_live_without_keys_refuses_to_start_even_with_the_flag() -> None:
    code, output = _run("--broker", "live", FLAG)
    assert code == 2 and "EXCHANGE_API_KEY" in output


def test_paper_is_the_default_and_needs_no_flag() -> None:
    settings = settings_from_env(("breakout_v1",), ("BTCUSDT",), "paper")
    assert settings.broker == "paper"
    assert live_refusal(settings, confirmed=False) is None
    help_text = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200).output
    assert "[default: paper]" in help_text
