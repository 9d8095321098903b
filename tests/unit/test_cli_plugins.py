"""Services add commands to `breakout` through `breakout.cli` entry points."""

from __future__ import annotations

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
