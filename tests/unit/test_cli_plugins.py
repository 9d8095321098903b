"""Services add commands to `breakout` through `breakout.cli` entry points."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from breakout.common.cli import mount_plugins


def test_installed_service_commands_are_mounted() -> None:
    app = typer.Typer()

    @app.command("noop")
    def noop() -> None:
        """A command so the app is a group."""

    assert mount_plugins(app) == []
    result = CliRunner().invoke(app, ["diag", "l2", "--help"])
    assert result.exit_code == 0, result.output
    assert "--symbol" in result.output


def _modules_after(*args: str) -> set[str]:
    """The top-level packages `breakout ARGS` imported (in a fresh interpreter)."""
    code = (
        "import sys\n"
        f"sys.argv = ['breakout', *{list(args)!r}]\n"
        "from breakout.common import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_built_in_commands_start_without_importing_the_services() -> None:
    # `breakout run` (what `make run` runs) must not spend a loaded machine's seconds on
    # importing every service; `--help` and the plugins' commands load them all.
    assert not {"ccxt", "breakout.backtest"} & _modules_after("run", "--help")
    assert "breakout.backtest" in _modules_after("--help")
